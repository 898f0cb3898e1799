//go:build ignore

// demo-data writes testdata/demo/group.json and credentials.jsonl, the demo
// tenant's group and credentials, for `credup check` and `credup template`.
//
//	go run testdata/gen/demo-data.go
package main

import (
	"encoding/json"
	"log"
	"os"

	"github.com/credup/credup/internal/demo"
)

func main() {
	g, err := json.MarshalIndent(demo.Group(), "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("testdata/demo/group.json", append(g, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	f, err := os.Create("testdata/demo/credentials.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for _, c := range demo.Seed() {
		if err := enc.Encode(c); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
