// Package configprovider resolves Kafka Connect's config provider
// placeholders in connector configs: ${env:NAME}, ${file:/path/file.properties:key}
// and ${directory:/path/dir:filename}. The control plane stores and shows
// configs with their placeholders; an agent resolves them when a task
// starts, so a secret is never stored resolved nor shown.
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
var Default = []string{"env", "file", "directory"}

// placeholder is ${provider:path:key} or ${provider:key}.
var placeholder = regexp.MustCompile(`\$\{([a-zA-Z][a-zA-Z0-9_.-]*):([^}]*)\}`)

// Has reports whether a value holds a placeholder.
func Has(v string) bool { return placeholder.MatchString(v) }

// Resolve returns cfg with every placeholder of an enabled provider
// replaced. An error names the config key and the placeholder, never a
// resolved value.
func Resolve(cfg map[string]string, enabled []string) (map[string]string, error) {
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
			val, err := lookup(provider, rest)
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

func lookup(provider, rest string) (string, error) {
	switch provider {
	case "env":
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
		return propertiesValue(path, key)
	case "directory":
		dir, name, ok := cutLast(rest)
		if !ok || strings.ContainsAny(name, `/\`) || name == ".." {
			return "", fmt.Errorf("write ${directory:/path/to/dir:filename}")
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
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
