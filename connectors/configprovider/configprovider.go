// Package configprovider resolves Kafka Connect's config provider
// placeholders in connector configs: ${env:NAME}, ${file:/path/file.properties:key}
// and ${directory:/path/dir:filename} (also ${dir:...}, the name Kafka's
// documentation gives DirectoryConfigProvider). The control plane stores and
// shows configs with their placeholders; an agent resolves them when a task
// starts, so a secret is never stored resolved nor shown.
//
// As Kafka Connect's allowed.paths (KIP-993) and allowlist.pattern, an agent
// may limit the files the file and directory providers read and the
// environment variables the env provider reads.
package configprovider

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Default are the providers an agent resolves unless told otherwise.
var Default = []string{"env", "file", "directory", "dir"}

// Providers says which providers resolve placeholders and what they may read.
type Providers struct {
	// Enabled names the providers; nil means Default, empty means none.
	Enabled []string
	// AllowedPaths, when not empty, are the only files and directories
	// (and what is below them) the file and directory providers read, as
	// Kafka's allowed.paths. Paths are made absolute and cleaned, and
	// symbolic links are followed before the check, so neither ".." nor a
	// link leads out.
	AllowedPaths []string
	// EnvAllowlist, when set, must match an environment variable's whole
	// name for the env provider to read it, as Kafka's allowlist.pattern.
	EnvAllowlist *regexp.Regexp
}

// NewProviders checks and normalizes an agent's settings. allowedPaths
// must be absolute; envPattern is a regular expression ("" allows every
// variable).
func NewProviders(enabled, allowedPaths []string, envPattern string) (Providers, error) {
	p := Providers{Enabled: enabled}
	for _, a := range allowedPaths {
		if !filepath.IsAbs(a) {
			return Providers{}, fmt.Errorf("allowed path %q is not absolute", a)
		}
		p.AllowedPaths = append(p.AllowedPaths, canonical(a))
	}
	if envPattern != "" {
		re, err := regexp.Compile(`^(?:` + envPattern + `)$`)
		if err != nil {
			return Providers{}, fmt.Errorf("env allowlist pattern: %w", err)
		}
		p.EnvAllowlist = re
	}
	return p, nil
}

// canonical is a path cleaned, with symbolic links resolved as far as they
// exist.
func canonical(path string) string {
	path = filepath.Clean(path)
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// Resolve returns cfg with every placeholder of an enabled provider
// replaced. An error names the config key and the placeholder, never a
// resolved value.
func (p Providers) Resolve(cfg map[string]string) (map[string]string, error) {
	enabled := p.Enabled
	if enabled == nil {
		enabled = Default
	}
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		if !strings.Contains(v, "${") {
			out[k] = v
			continue
		}
		var ferr error
		out[k] = placeholder.ReplaceAllStringFunc(v, func(m string) string {
			if ferr != nil {
				return m
			}
			sub := placeholder.FindStringSubmatch(m)
			provider, rest := sub[1], sub[2]
			if !slices.Contains(enabled, provider) {
				ferr = fmt.Errorf("%s: %s uses config provider %q, which this agent does not enable (it enables %s)",
					k, m, provider, strings.Join(enabled, ", "))
				return m
			}
			val, err := p.lookup(provider, rest)
			if err != nil {
				ferr = fmt.Errorf("%s: %s: %w", k, m, err)
				return m
			}
			return val
		})
		if ferr != nil {
			return nil, ferr
		}
	}
	return out, nil
}

func (p Providers) allowed(path string) error {
	if len(p.AllowedPaths) == 0 {
		return nil
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("the path is not absolute, and this agent allows only paths under %s", strings.Join(p.AllowedPaths, ", "))
	}
	c := canonical(path)
	for _, a := range p.AllowedPaths {
		if c == a || strings.HasPrefix(c, strings.TrimSuffix(a, string(filepath.Separator))+string(filepath.Separator)) {
			return nil
		}
	}
	return fmt.Errorf("the path is outside the paths this agent allows (%s)", strings.Join(p.AllowedPaths, ", "))
}

// placeholder is ${provider:path:key} or ${provider:key}.
var placeholder = regexp.MustCompile(`\$\{([a-zA-Z][a-zA-Z0-9_.-]*):([^}]*)\}`)

// Has reports whether a value holds a placeholder.
func Has(v string) bool { return placeholder.MatchString(v) }

func (p Providers) lookup(provider, rest string) (string, error) {
	switch provider {
	case "env":
		if p.EnvAllowlist != nil && !p.EnvAllowlist.MatchString(rest) {
			return "", fmt.Errorf("environment variable %s is not in this agent's allowlist (%s)", rest, p.EnvAllowlist)
		}
		v, ok := os.LookupEnv(rest)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set on this agent", rest)
		}
		return v, nil
	case "file":
		path, key, ok := cutLast(rest)
		if !ok {
			return "", fmt.Errorf("write ${file:/path/to/file.properties:key}")
		}
		if err := p.allowed(path); err != nil {
			return "", err
		}
		return propertiesValue(path, key)
	case "directory", "dir":
		dir, name, ok := cutLast(rest)
		if !ok || strings.ContainsAny(name, `/\`) || name == ".." {
			return "", fmt.Errorf("write ${%s:/path/to/dir:filename}", provider)
		}
		file := filepath.Join(dir, name)
		if err := p.allowed(file); err != nil {
			return "", err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the file: %w", err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("unknown config provider %q", provider)
}

// cutLast splits "path:key" at its last colon.
func cutLast(s string) (string, string, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// propertiesValue reads key from a Java properties file (key=value or
// key: value lines; # and ! comments).
func propertiesValue(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		if strings.TrimSpace(line[:i]) == key {
			return strings.TrimSpace(line[i+1:]), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no key %q in the file", key)
}
