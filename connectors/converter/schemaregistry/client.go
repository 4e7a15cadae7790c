// Package schemaregistry is a small client of a Confluent-compatible Schema
// Registry (Confluent's, Apicurio's ccompat API, Redpanda's, Karapace): it
// registers and looks up schemas (with their references) under subjects
// and fetches them by id or by subject and version, caching both
// directions, and reads and writes Confluent's wire format
// (magic byte 0, a 4-byte big-endian schema id, then the payload).
package schemaregistry

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Schema types, as the registry spells them ("" is AVRO).
const (
	Avro       = "AVRO"
	JSONSchema = "JSON"
	Protobuf   = "PROTOBUF"
)

// ErrNotFound is returned when the registry has no such subject, version
// or schema (HTTP 404).
var ErrNotFound = errors.New("not found in the schema registry")

// Config configures a Client.
type Config struct {
	// URLs are the registry's base URLs; requests go to the first that
	// answers. Required.
	URLs []string
	// UserInfo is "user:password" for HTTP basic authentication; empty
	// for none (credentials in a URL's user info are used too).
	UserInfo string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Schema is a schema stored in the registry.
type Schema struct {
	ID int32
	// Type is AVRO, JSON or PROTOBUF (never empty).
	Type   string
	Schema string
	// References name the schemas this one imports, each by the name it
	// is imported as and the subject and version holding it.
	References []Reference
}

// Reference is one entry of a schema's references.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// SubjectSchema is a schema as a version of a subject.
type SubjectSchema struct {
	Subject string
	Version int
	Schema
}

// Client talks to a registry. It is safe for concurrent use.
type Client struct {
	urls []*url.URL
	auth string
	http *http.Client

	mu       sync.Mutex
	byID     map[int32]Schema
	idFor    map[string]SubjectSchema    // by cacheKey; Version 0 when the registry did not say
	versions map[Reference]SubjectSchema // by subject and version (no name)
}

// New returns a client of the registry at cfg.URLs.
func New(cfg Config) (*Client, error) {
	c := &Client{http: cfg.HTTPClient, byID: map[int32]Schema{}, idFor: map[string]SubjectSchema{}, versions: map[Reference]SubjectSchema{}}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	for _, raw := range cfg.URLs {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil {
			return nil, fmt.Errorf("schema registry url %q: %w", raw, err)
		}
		c.urls = append(c.urls, u)
	}
	if len(c.urls) == 0 {
		return nil, errors.New("no schema registry url")
	}
	if cfg.UserInfo != "" {
		user, pass, _ := strings.Cut(cfg.UserInfo, ":")
		c.auth = basic(user, pass)
	}
	return c, nil
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// apiError is the registry's error body.
type apiError struct {
	Status  int    `json:"-"`
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("schema registry: %s (error %d, HTTP %d)", e.Message, e.Code, e.Status)
}

func (e *apiError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// do sends a request to each URL in turn until one answers, and decodes
// the JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var last error
	for _, u := range c.urls {
		req, err := http.NewRequestWithContext(ctx, method, u.String()+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		}
		switch {
		case c.auth != "":
			req.Header.Set("Authorization", c.auth)
		case u.User != nil:
			pass, _ := u.User.Password()
			req.Header.Set("Authorization", basic(u.User.Username(), pass))
		}
		resp, err := c.http.Do(req)
		if err != nil {
			last = fmt.Errorf("schema registry %s: %w", u.Host, err)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			last = fmt.Errorf("schema registry %s: %w", u.Host, err)
			continue
		}
		if resp.StatusCode >= 500 {
			last = decodeError(resp.StatusCode, b)
			continue
		}
		if resp.StatusCode >= 300 {
			return decodeError(resp.StatusCode, b)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("schema registry %s %s: %w", method, path, err)
		}
		return nil
	}
	return last
}

func decodeError(status int, b []byte) error {
	e := &apiError{Status: status}
	if json.Unmarshal(b, e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(b))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
	}
	return e
}

type schemaBody struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
}

type schemaAnswer struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int32       `json:"id"`
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType"`
	References []Reference `json:"references"`
}

func (a *schemaAnswer) schema() Schema {
	return Schema{ID: a.ID, Type: normType(a.SchemaType), Schema: a.Schema, References: a.References}
}

func body(s Schema) schemaBody {
	typ := s.Type
	if typ == Avro {
		typ = "" // older registries know no schemaType and take AVRO for it
	}
	return schemaBody{Schema: s.Schema, SchemaType: typ, References: s.References}
}

func normType(t string) string {
	if t == "" {
		return Avro
	}
	return strings.ToUpper(t)
}

func cacheKey(subject string, s Schema) string {
	k := subject + "\x00" + s.Type + "\x00" + s.Schema
	for _, r := range s.References {
		k += "\x00" + r.Name + "\x00" + r.Subject + "\x00" + strconv.Itoa(r.Version)
	}
	return k
}

func (c *Client) remember(subject string, s SubjectSchema) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if subject != "" {
		c.idFor[cacheKey(subject, s.Schema)] = s
	}
	if _, ok := c.byID[s.ID]; !ok {
		c.byID[s.ID] = s.Schema
	}
}

// Register registers the schema under subject (POST
// /subjects/{subject}/versions) and returns its id; a schema already
// registered keeps its id. Answers are cached.
func (c *Client) Register(ctx context.Context, subject, typ, text string) (int32, error) {
	got, err := c.post(ctx, subject, Schema{Type: typ, Schema: text}, true, false)
	return got.ID, err
}

// Lookup returns the id of a schema already registered under subject
// (POST /subjects/{subject}); ErrNotFound when it is not.
func (c *Client) Lookup(ctx context.Context, subject, typ, text string) (int32, error) {
	got, err := c.post(ctx, subject, Schema{Type: typ, Schema: text}, false, false)
	return got.ID, err
}

// RegisterSchema is Register for a schema with references (s.ID is
// ignored), and returns its version under subject too. Answers are cached.
func (c *Client) RegisterSchema(ctx context.Context, subject string, s Schema) (SubjectSchema, error) {
	return c.post(ctx, subject, s, true, true)
}

// LookupSchema is Lookup for a schema with references, and returns its
// version under subject too.
func (c *Client) LookupSchema(ctx context.Context, subject string, s Schema) (SubjectSchema, error) {
	return c.post(ctx, subject, s, false, true)
}

// post registers s under subject or looks it up, from the cache when it
// has an answer (with the version if needVersion).
func (c *Client) post(ctx context.Context, subject string, s Schema, register, needVersion bool) (SubjectSchema, error) {
	s.ID, s.Type = 0, normType(s.Type)
	key := cacheKey(subject, s)
	c.mu.Lock()
	got, ok := c.idFor[key]
	c.mu.Unlock()
	if ok && (got.Version > 0 || !needVersion) {
		return got, nil
	}
	path, what := "/subjects/"+url.PathEscape(subject), "look up"
	if register {
		path, what = path+"/versions", "register"
	}
	var out schemaAnswer
	if err := c.do(ctx, http.MethodPost, path, body(s), &out); err != nil {
		return SubjectSchema{}, fmt.Errorf("%s a schema under subject %s: %w", what, subject, err)
	}
	got = SubjectSchema{Subject: subject, Version: out.Version, Schema: s}
	got.ID = out.ID
	if got.Version == 0 && needVersion {
		// Registering answers with the id alone (as Confluent's does): the
		// version is the id's latest under subject, else the lookup's (a
		// registry that rewrites schema text may not find it again by the
		// text sent).
		var versions []struct {
			Subject string `json:"subject"`
			Version int    `json:"version"`
		}
		if c.do(ctx, http.MethodGet, fmt.Sprintf("/schemas/ids/%d/versions", got.ID), nil, &versions) == nil {
			for _, sv := range versions {
				if sv.Subject == subject && sv.Version > got.Version {
					got.Version = sv.Version
				}
			}
		}
		if got.Version == 0 {
			if err := c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject), body(s), &out); err != nil {
				return SubjectSchema{}, fmt.Errorf("the version of schema id %d under subject %s: %w", got.ID, subject, err)
			}
			got.ID, got.Version = out.ID, out.Version
		}
	}
	c.remember(subject, got)
	return got, nil
}

// Latest returns the latest version of subject (GET
// /subjects/{subject}/versions/latest). It is not cached: the latest
// version changes.
func (c *Client) Latest(ctx context.Context, subject string) (Schema, error) {
	var out schemaAnswer
	if err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions/latest", nil, &out); err != nil {
		return Schema{}, fmt.Errorf("latest schema of subject %s: %w", subject, err)
	}
	s := out.schema()
	c.remember("", SubjectSchema{Schema: s})
	return s, nil
}

// Version returns version of subject (GET
// /subjects/{subject}/versions/{version}), cached.
func (c *Client) Version(ctx context.Context, subject string, version int) (SubjectSchema, error) {
	key := Reference{Subject: subject, Version: version}
	c.mu.Lock()
	got, ok := c.versions[key]
	c.mu.Unlock()
	if ok {
		return got, nil
	}
	var out schemaAnswer
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/subjects/%s/versions/%d", url.PathEscape(subject), version), nil, &out); err != nil {
		return SubjectSchema{}, fmt.Errorf("version %d of subject %s: %w", version, subject, err)
	}
	got = SubjectSchema{Subject: subject, Version: version, Schema: out.schema()}
	c.remember("", got)
	c.mu.Lock()
	c.versions[key] = got
	c.mu.Unlock()
	return got, nil
}

// ByID returns the schema with id (GET /schemas/ids/{id}), with its
// references, cached.
func (c *Client) ByID(ctx context.Context, id int32) (Schema, error) {
	c.mu.Lock()
	s, ok := c.byID[id]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	var out schemaAnswer
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/schemas/ids/%d", id), nil, &out); err != nil {
		return Schema{}, fmt.Errorf("schema id %d: %w", id, err)
	}
	out.ID = id
	s = out.schema()
	c.remember("", SubjectSchema{Schema: s})
	return s, nil
}

// MagicByte starts every message in Confluent's wire format.
const MagicByte = 0

// AppendHeader appends the wire format's header (the magic byte and the
// schema id) to buf.
func AppendHeader(buf []byte, id int32) []byte {
	buf = append(buf, MagicByte)
	return binary.BigEndian.AppendUint32(buf, uint32(id))
}

// ErrUnknownMagicByte is returned for data not in Confluent's wire format.
var ErrUnknownMagicByte = errors.New("unknown magic byte: not Confluent's wire format")

// SplitHeader reads the header of b: the schema id and the rest.
func SplitHeader(b []byte) (int32, []byte, error) {
	if len(b) < 5 {
		return 0, nil, fmt.Errorf("%w: %d bytes, fewer than the 5 of a header", ErrUnknownMagicByte, len(b))
	}
	if b[0] != MagicByte {
		return 0, nil, fmt.Errorf("%w: first byte %d", ErrUnknownMagicByte, b[0])
	}
	return int32(binary.BigEndian.Uint32(b[1:5])), b[5:], nil
}
