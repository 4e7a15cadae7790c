package converter

// scrubIdentifier makes name a valid identifier as Confluent's converters
// do under scrub.invalid.names: a name of letters, digits and underscores,
// not starting with a digit (nor, unless underscoreFirst, an underscore),
// is kept; any other is URL-encoded as Java's URLEncoder does (UTF-8, a
// space as +), given an x in front when it starts with such a character,
// and every character but letters, digits and underscores replaced by an
// underscore.
func scrubIdentifier(name string, underscoreFirst bool) string {
	if name == "" {
		return name
	}
	badFirst := func(c byte) bool { return c >= '0' && c <= '9' || c == '_' && !underscoreFirst }
	valid := !badFirst(name[0])
	for i := 0; i < len(name) && valid; i++ {
		valid = identifierChar(name[i])
	}
	if valid {
		return name
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(name)+8)
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case identifierChar(c) || c == '.' || c == '-' || c == '*':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	if badFirst(b[0]) {
		b = append([]byte{'x'}, b...)
	}
	for i, c := range b {
		if !identifierChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func identifierChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}
