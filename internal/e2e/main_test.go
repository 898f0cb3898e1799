package e2e

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/credup/credup/internal/awsconfig"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/devstack"
	"github.com/credup/credup/internal/dynamo"
)

// templatePath is the SAM template the local stack provisions from.
const templatePath = "../../template.yaml"

// suite is a running credup stack and SDK clients pointed at it.
type suite struct {
	stack  *devstack.Stack
	store  *dynamo.Store
	s3     *s3.Client
	lambda *lambda.Client
	db     *dynamodb.Client
	bus    *eventbridge.Client
	sfn    *sfn.Client
	// events is what a subscriber to credup's events received (shared
	// suite only).
	events *eventSink
}

// shared is the stack every test of the package uses, each test with
// tenants of its own; tests that need a stack of their own start one.
var shared *suite

// tenantSeq makes tenant IDs unique within one process, so -count=N runs
// never meet the data of an earlier run; sharedTenants counts the tenants
// seeded on the shared stack.
var tenantSeq, sharedTenants atomic.Int64

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

// runSuite starts the shared stack, runs the tests, then checks what the
// whole suite left behind: the table's keys and the functions' logs.
func runSuite(m *testing.M) int {
	logs, err := os.CreateTemp("", "credup-e2e-functions-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: create log file:", err)
		return 1
	}
	defer logs.Close()
	// The emulator logs through the standard logger; keep it apart from
	// the functions' logs, whose content the suite checks.
	emulatorLogs, err := os.CreateTemp("", "credup-e2e-emulator-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: create log file:", err)
		return 1
	}
	defer emulatorLogs.Close()
	log.SetOutput(emulatorLogs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := start(ctx, devstack.Options{TemplatePath: templatePath, StackName: "e2e", Logs: logs})
	if err == nil {
		s.events, err = startEventSink(ctx, s, "e2e-event-sink")
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start the shared stack:", err)
		fmt.Fprintln(os.Stderr, "e2e: function logs are in", logs.Name(), "and the emulator's in", emulatorLogs.Name())
		if s != nil {
			s.close()
		}
		return 1
	}
	shared = s

	code := m.Run()

	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n := int(sharedTenants.Load()); n > 0 {
		if err := checkTenantKeys(ctx, s.db, s.stack.TableName, n); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: after the suite, the table holds keys outside its tenants:", err)
			code = 1
		}
	}
	if err := s.stack.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the shared stack stopped serving during the suite:", err)
		code = 1
	}
	s.close()
	if sharedTenants.Load() > 0 {
		if err := checkNoPersonalData(logs.Name()); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: the functions logged personal data:", err)
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "e2e: function logs are in", logs.Name(), "and the emulator's in", emulatorLogs.Name())
	} else {
		os.Remove(logs.Name())
		os.Remove(emulatorLogs.Name())
	}
	return code
}

// start brings up a stack and waits until each function polls for work:
// kumo drops an S3 notification for a function nobody has polled for yet.
func start(ctx context.Context, opts devstack.Options) (*suite, error) {
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	cfg, err := st.AWSConfig(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	store, err := st.Store(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &suite{
		stack:  st,
		store:  store,
		s3:     s3.NewFromConfig(cfg, awsconfig.S3Options),
		lambda: lambda.NewFromConfig(cfg),
		db:     dynamodb.NewFromConfig(cfg, dynamo.ForEmulator(st.Endpoint)),
		bus:    eventbridge.NewFromConfig(cfg),
		sfn:    sfn.NewFromConfig(cfg),
	}
	for id, name := range st.Functions {
		if err := waitPolled(ctx, s.lambda, name); err != nil {
			s.close()
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
	}
	return s, nil
}

func (s *suite) close() {
	if s.events != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.events.stop(ctx)
		cancel()
	}
	s.stack.Close()
}

// waitPolled invokes a function synchronously until something answers: a
// synchronous invoke waits for a poller, so an answer (even a function
// error, for a payload the function refuses) means one is polling.
func waitPolled(ctx context.Context, fn *lambda.Client, name string) error {
	for {
		_, err := fn.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("never polled for work: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tenantKey is what every partition key of the table must look like: the
// tenant's own item (TENANT#<id>) or an item under it (TENANT#<id>#...).
var tenantKey = regexp.MustCompile(`^TENANT#[^#]+(#.+)?$`)

// checkTenantKeys scans the whole table and reports every partition key,
// of the table or of an index, that does not start with a tenant, and any
// tenant found beyond the ones seeded.
func checkTenantKeys(ctx context.Context, db *dynamodb.Client, table string, seeded int) error {
	var bad []string
	items := 0
	tenants := map[string]bool{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			items++
			for _, attr := range []string{"PK", "GSI1PK", "GSI2PK", "GSI3PK"} {
				v, ok := it[attr]
				if !ok {
					continue
				}
				s, isString := v.(*types.AttributeValueMemberS)
				if !isString {
					bad = append(bad, fmt.Sprintf("%s is not a string (%T)", attr, v))
					continue
				}
				if !tenantKey.MatchString(s.Value) {
					bad = append(bad, fmt.Sprintf("%s=%q", attr, s.Value))
					continue
				}
				if attr == "PK" {
					tenants[strings.SplitN(s.Value, "#", 3)[1]] = true
				}
			}
		}
	}
	if items == 0 {
		return errors.New("the table is empty: the check saw nothing")
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("and %d more", len(bad)-20))
		}
		return fmt.Errorf("%d items scanned, bad keys: %s", items, strings.Join(bad, "; "))
	}
	if len(tenants) != seeded {
		return fmt.Errorf("%d items scanned, of %d tenants; %d were seeded", items, len(tenants), seeded)
	}
	return nil
}

// emailPattern finds anything shaped like an email address.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// checkNoPersonalData reads the functions' logs of the whole suite and
// reports any recipient email or name in them.
func checkNoPersonalData(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	names := map[string]bool{"Jonas Muller": true}
	for _, c := range demo.Seed() {
		names[c.Recipient.Name] = true
	}
	var found []string
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		lines++
		if m := emailPattern.FindString(line); m != "" {
			found = append(found, fmt.Sprintf("line %d: an email", lines))
			continue
		}
		for n := range names {
			if strings.Contains(line, n) {
				found = append(found, fmt.Sprintf("line %d: a recipient name", lines))
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if lines == 0 {
		return errors.New("the functions logged nothing: the check saw nothing")
	}
	if len(found) > 0 {
		return errors.New(strings.Join(found, "; "))
	}
	return nil
}
