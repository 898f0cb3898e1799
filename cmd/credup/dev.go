package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/devstack"
	"github.com/credup/credup/internal/localapi"
)

// runDev keeps the local stack running for the AWS CLI, SDKs and curl.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	awsAddr := fs.String("aws-addr", "127.0.0.1:4566", "address of the AWS-compatible endpoint")
	apiAddr := fs.String("api-addr", "127.0.0.1:3000", "address of the HTTP API")
	inProcess := fs.Bool("in-process", false, "run the functions in this process instead of one process each")
	jsonLogs := fs.Bool("json", false, "show the functions' logs as the raw JSON they write")
	seed := fs.Bool("seed", true, "seed the demo tenant, groups and credentials")
	dataDir := fs.String("data-dir", "", "keep the emulator's state here across restarts (must equal KUMO_DATA_DIR)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	key, err := localapi.DevKey()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Starting credup on the embedded AWS stack...")
	s, err := devstack.Start(ctx, devstack.Options{
		AWSAddr: *awsAddr, APIAddr: *apiAddr, Processes: !*inProcess,
		Logs: stderr, JSONLogs: *jsonLogs, Key: key, DataDir: *dataDir,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if *seed {
		groups := []bulk.Group{demo.Group(), demo.OtherGroup()}
		drop := demo.Group()
		drop.ID, drop.Name, drop.DropPolicy = "g-partner-feed", "Partner feed", bulk.DropCommitIfClean
		groups = append(groups, drop)
		creds := demo.Seed()
		for i, c := range creds[:20] {
			c.ID, c.GroupID = fmt.Sprintf("p-%04d", i+1), drop.ID
			c.Recipient.Email = fmt.Sprintf("partner%03d@example.org", i+1)
			creds = append(creds, c)
		}
		if err := s.Seed(ctx, bulk.Tenant{ID: demo.Tenant, Name: "Demo Academy", Credits: demo.Credits}, groups, creds); err != nil {
			return err
		}
	}
	token, err := s.Token(demo.Tenant)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
credup is running. Stop it with Ctrl-C.

  AWS endpoint   %s   (region %s, any credentials)
  HTTP API       %s   (JWT: issuer %s, audience %s)
  table          %s
  bucket         %s
  state machine  %s

Tenant %q is seeded with %d credits and groups %s (review), %s, and g-partner-feed
(20 credentials, partner001@example.org..., drop policy commit_if_clean).
A token for it (24h; another: credup token --tenant T):

  export TOKEN=%s

Try:
  curl -s -H "Authorization: Bearer $TOKEN" '%s/groups/%s/template?format=csv&prefill=true' | head
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -d '{"fileName":"renewals.xlsx"}' %s/groups/%s/bulk-updates
  aws --endpoint-url %s s3 cp sheet.csv s3://%s/tenants/%s/dropbox/%s/
`, s.Endpoint, s.Region, s.APIURL, devstack.Issuer, devstack.Audience, s.TableName, s.BucketName, s.StateMachineArn,
		demo.Tenant, demo.Credits, demo.GroupID, demo.OtherGroupID, token,
		s.APIURL, demo.GroupID, s.APIURL, demo.GroupID, s.Endpoint, s.BucketName, demo.Tenant, demo.GroupID)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "\nStopping credup.")
			return nil
		case <-tick.C:
			if err := s.Err(); err != nil {
				return err
			}
		}
	}
}

// runToken prints a token the local HTTP API of `credup dev` accepts.
func runToken(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the tenant the token acts for")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *tenant == "" {
		return usagef("--tenant is required")
	}
	key, err := localapi.DevKey()
	if err != nil {
		return err
	}
	tok, err := localapi.MintToken(key, devstack.Issuer, devstack.Audience, *tenant, *ttl)
	if err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
