// Package apiclient speaks credup's HTTP API as a client would: plain HTTP
// with a bearer token, JSON in and out, problem details as errors. `credup
// demo` and the end-to-end tests drive the pipeline through it.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/httpapi"
)

// Client calls one credup API as one tenant.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Problem is an RFC 9457 problem the API answered with.
type Problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
}

// The API's response shapes, as the server defines them.
type (
	Upload  = httpapi.UploadView
	Report  = httpapi.ReportView
	Column  = httpapi.ColumnView
	Created = httpapi.CreatedView
	Rows    = httpapi.RowsView
	Result  = httpapi.ResultView
	Results = httpapi.ResultsView
)

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		p := &Problem{Status: resp.StatusCode}
		if json.Unmarshal(data, p) != nil || p.Code == "" {
			p.Detail = string(bytes.TrimSpace(data))
		}
		p.Status = resp.StatusCode
		return p
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Template downloads a group's template.
func (c *Client) Template(ctx context.Context, group, format string, prefill bool) ([]byte, error) {
	var b []byte
	q := url.Values{"format": {format}}
	if prefill {
		q.Set("prefill", "true")
	}
	err := c.do(ctx, http.MethodGet, "/groups/"+url.PathEscape(group)+"/template?"+q.Encode(), nil, &b)
	return b, err
}

// CreateUpload starts a bulk update of a group.
func (c *Client) CreateUpload(ctx context.Context, group, fileName string) (Created, error) {
	var out Created
	err := c.do(ctx, http.MethodPost, "/groups/"+url.PathEscape(group)+"/bulk-updates", map[string]string{"fileName": fileName}, &out)
	return out, err
}

// SendFile uploads the file through the presigned upload.
func (c *Client) SendFile(ctx context.Context, created Created, file []byte) error {
	req, err := http.NewRequestWithContext(ctx, created.Upload.Method, created.Upload.URL, bytes.NewReader(file))
	if err != nil {
		return fmt.Errorf("upload file: %w", err)
	}
	for k, v := range created.Upload.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(file))
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("upload file: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("upload file: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// Upload reads an upload.
func (c *Client) Upload(ctx context.Context, id string) (Upload, error) {
	var out Upload
	err := c.do(ctx, http.MethodGet, "/bulk-updates/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Wait polls an upload until its status is one of statuses, or ctx ends.
func (c *Client) Wait(ctx context.Context, id string, statuses ...string) (Upload, error) {
	for {
		u, err := c.Upload(ctx, id)
		if err != nil {
			return u, err
		}
		for _, s := range statuses {
			if u.Status == s {
				return u, nil
			}
		}
		select {
		case <-ctx.Done():
			return u, fmt.Errorf("upload %s is still %s: %w", id, u.Status, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Rows reads a page of report rows; outcome "" for all.
func (c *Client) Rows(ctx context.Context, id, outcome, cursor string) (Rows, error) {
	var out Rows
	q := url.Values{}
	if outcome != "" {
		q.Set("outcome", outcome)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	err := c.do(ctx, http.MethodGet, "/bulk-updates/"+url.PathEscape(id)+"/rows?"+q.Encode(), nil, &out)
	return out, err
}

// SetMapping records the user's mapping; the upload is validated again.
func (c *Client) SetMapping(ctx context.Context, id string, m bulk.Mapping) (Upload, error) {
	var out Upload
	err := c.do(ctx, http.MethodPut, "/bulk-updates/"+url.PathEscape(id)+"/mapping", m, &out)
	return out, err
}

// Confirm accepts the warnings of one report version.
func (c *Client) Confirm(ctx context.Context, id string, version int) (Upload, error) {
	var out Upload
	err := c.do(ctx, http.MethodPost, "/bulk-updates/"+url.PathEscape(id)+"/confirmations", map[string]int{"reportVersion": version}, &out)
	return out, err
}

// Commit starts the commit.
func (c *Client) Commit(ctx context.Context, id string) (Upload, error) {
	var out Upload
	err := c.do(ctx, http.MethodPost, "/bulk-updates/"+url.PathEscape(id)+"/commit", nil, &out)
	return out, err
}

// Results reads a page of a commit's results.
func (c *Client) Results(ctx context.Context, id, cursor string) (Results, error) {
	var out Results
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	err := c.do(ctx, http.MethodGet, "/bulk-updates/"+url.PathEscape(id)+"/results?"+q.Encode(), nil, &out)
	return out, err
}
