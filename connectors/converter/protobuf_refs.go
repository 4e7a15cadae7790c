package converter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
)

// Schema references: a Protobuf schema importing a file other than the
// known types names, for each import, the subject and version holding it
// (Confluent's "references"). The shared registry client neither returns
// nor sends them, so the Protobuf converter reads and registers schemas
// with references here, with the same URLs and credentials:
// GET /schemas/ids/{id}, GET /subjects/{subject}/versions/{version},
// POST /subjects/{subject}/versions and POST /subjects/{subject}.

// schemaRef is one entry of a schema's references.
type schemaRef struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

type refAnswer struct {
	ID         int32       `json:"id"`
	Version    int         `json:"version"`
	Schema     string      `json:"schema"`
	References []schemaRef `json:"references"`
}

type refSchema struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType"`
	References []schemaRef `json:"references,omitempty"`
}

// refClient reads and registers schemas with references.
type refClient struct {
	urls []*url.URL
	auth string
	http *http.Client

	versions   memo[schemaRef, refAnswer]
	registered memo[string, refAnswer] // by subject, text and whether registering
}

func newRefClient(opts map[string]string) *refClient {
	r := &refClient{http: &http.Client{Timeout: registryTimeout}}
	for _, raw := range strings.Split(opts["schema.registry.url"], ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		if u, err := url.Parse(strings.TrimRight(raw, "/")); err == nil {
			r.urls = append(r.urls, u)
		}
	}
	if strings.EqualFold(strings.TrimSpace(opts["basic.auth.credentials.source"]), "USER_INFO") {
		info := opts["basic.auth.user.info"]
		if info == "" {
			info = opts["schema.registry.basic.auth.user.info"]
		}
		user, pass, _ := strings.Cut(info, ":")
		r.auth = basicAuth(user, pass)
	}
	return r
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// do sends a request to each URL in turn until one answers.
func (r *refClient) do(ctx context.Context, method, path string, body any) (refAnswer, error) {
	var out refAnswer
	err := r.doJSON(ctx, method, path, body, &out)
	return out, err
}

func (r *refClient) doJSON(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	last := errors.New("no schema registry url")
	for _, u := range r.urls {
		req, err := http.NewRequestWithContext(ctx, method, u.String()+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		}
		switch {
		case r.auth != "":
			req.Header.Set("Authorization", r.auth)
		case u.User != nil:
			pass, _ := u.User.Password()
			req.Header.Set("Authorization", basicAuth(u.User.Username(), pass))
		}
		resp, err := r.http.Do(req)
		if err != nil {
			last = fmt.Errorf("schema registry %s: %w", u.Host, err)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		failed := func() error {
			return fmt.Errorf("schema registry %s: %s %s: HTTP %d: %s", u.Host, method, path, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		switch {
		case err != nil:
			last = fmt.Errorf("schema registry %s: %w", u.Host, err)
			continue
		case resp.StatusCode >= 500:
			last = failed()
			continue
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", failed(), schemaregistry.ErrNotFound)
		case resp.StatusCode >= 300:
			return failed()
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("schema registry %s: %s %s: %w", u.Host, method, path, err)
		}
		return nil
	}
	return last
}

// references returns the files a schema's references name, by import
// name, and theirs in turn.
func (r *refClient) references(ctx context.Context, id int32) (map[string]string, error) {
	root, err := r.do(ctx, http.MethodGet, fmt.Sprintf("/schemas/ids/%d", id), nil)
	if err != nil {
		return nil, fmt.Errorf("references of schema id %d: %w", id, err)
	}
	files := map[string]string{}
	var walk func(refs []schemaRef, depth int) error
	walk = func(refs []schemaRef, depth int) error {
		if depth > 32 {
			return errors.New("schema references nested more than 32 deep")
		}
		for _, ref := range refs {
			if _, ok := files[ref.Name]; ok {
				continue
			}
			got, err := r.versions.get(ref, func() (refAnswer, error) {
				return r.do(ctx, http.MethodGet, fmt.Sprintf("/subjects/%s/versions/%d", url.PathEscape(ref.Subject), ref.Version), nil)
			})
			if err != nil {
				return fmt.Errorf("reference %s (subject %s version %d): %w", ref.Name, ref.Subject, ref.Version, err)
			}
			files[ref.Name] = got.Schema
			if err := walk(got.References, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root.References, 0); err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return files, nil
}

// register registers a Protobuf schema with its references under subject
// (or with register false, looks it up) and returns its id and version.
func (r *refClient) register(ctx context.Context, subject, text string, refs []schemaRef, register bool) (refAnswer, error) {
	key := fmt.Sprintf("%s\x00%s\x00%t", subject, text, register)
	return r.registered.get(key, func() (refAnswer, error) {
		body := refSchema{Schema: text, SchemaType: schemaregistry.Protobuf, References: refs}
		path := "/subjects/" + url.PathEscape(subject)
		if !register {
			got, err := r.do(ctx, http.MethodPost, path, body)
			if err != nil {
				return refAnswer{}, fmt.Errorf("look up a schema under subject %s: %w", subject, err)
			}
			return got, nil
		}
		got, err := r.do(ctx, http.MethodPost, path+"/versions", body)
		if err != nil {
			return refAnswer{}, fmt.Errorf("register a schema under subject %s: %w", subject, err)
		}
		if got.Version > 0 {
			return got, nil
		}
		// The version a reference needs: from the id's subjects and
		// versions (a registry that rewrites schema text may not find
		// it again by the text sent).
		var versions []struct {
			Subject string `json:"subject"`
			Version int    `json:"version"`
		}
		if err := r.doJSON(ctx, http.MethodGet, fmt.Sprintf("/schemas/ids/%d/versions", got.ID), nil, &versions); err == nil {
			for _, sv := range versions {
				if sv.Subject == subject && sv.Version > got.Version {
					got.Version = sv.Version
				}
			}
		}
		if got.Version > 0 {
			return got, nil
		}
		found, err := r.do(ctx, http.MethodPost, path, body)
		if err != nil {
			return refAnswer{}, fmt.Errorf("the version of schema id %d under subject %s: %w", got.ID, subject, err)
		}
		return found, nil
	})
}

// registerWithKnownTypes registers a schema Sluice wrote, its imports
// (known types only) first under subjects of their names, as Confluent's
// serializer does with skip.known.types=false, and returns its id.
func (r *refClient) registerWithKnownTypes(ctx context.Context, subject, text string, imports []string, register bool) (int32, error) {
	refs := make([]schemaRef, 0, len(imports))
	for _, imp := range imports {
		dep, ok := knownReferences[imp]
		if !ok {
			return 0, fmt.Errorf("no text of %s to register", imp)
		}
		got, err := r.register(ctx, imp, dep, nil, register)
		if err != nil {
			return 0, err
		}
		refs = append(refs, schemaRef{Name: imp, Subject: imp, Version: got.Version})
	}
	got, err := r.register(ctx, subject, text, refs, register)
	return got.ID, err
}
