package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"

	"github.com/credup/credup/internal/bulk"
)

// parseArgs parses flags that may come before or after positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func readGroup(path string) (bulk.Group, error) {
	var g bulk.Group
	if path == "" {
		return g, usagef("--group GROUP.json is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return g, usagef("read group: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, usagef("group %s is not a group JSON: %v", path, err)
	}
	if g.ID == "" {
		return g, usagef("group %s has no id", path)
	}
	return g, nil
}

func readMapping(path string) (bulk.Mapping, error) {
	var m bulk.Mapping
	if path == "" {
		return m, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return m, usagef("read mapping: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, usagef("mapping %s is not a mapping JSON: %v", path, err)
	}
	return m, nil
}

// readCredentials reads one JSON credential per line; blank lines are
// allowed, anything else that is not a credential is an error naming the line.
func readCredentials(path string) ([]bulk.Credential, error) {
	if path == "" {
		return nil, usagef("--credentials FILE.jsonl is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("read credentials: %v", err)
	}
	defer f.Close()
	var out []bulk.Credential
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var c bulk.Credential
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, usagef("%s line %d is not a credential: %v", path, line, err)
		}
		if c.ID == "" {
			return nil, usagef("%s line %d: credential has no id", path, line)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, usagef("%s: a line is longer than 16 MiB", path)
		}
		return nil, usagef("read credentials: %v", err)
	}
	return out, nil
}
