package converter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Compiling .proto text as Confluent's Schema Registry reads it: Google's
// well-known types (google/protobuf/*.proto), Google's common types
// (google/type/*.proto) and Confluent's own (confluent/meta.proto,
// confluent/type/*.proto) are known without schema references, as Confluent
// registers schemas importing them without references (skip.known.types);
// any other import comes from the schema's references.

// metaImport is Confluent's file of the confluent.*_meta options. Confluent
// writes (confluent.field_meta) options without importing it, so it is
// added to a file that uses them.
const metaImport = "confluent/meta.proto"

var metaOption = regexp.MustCompile(`\(\s*\.?confluent\.(file|message|field|enum|enum_value)_meta\s*\)`)

// knownProto holds the known files that protocompile's standard imports
// (google/protobuf/*.proto) lack, written from their published definitions.
var knownProto = map[string]string{
	metaImport: `syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}

message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
}

extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
`,
	"confluent/type/decimal.proto": decimalProto,
	"confluent/type/variant.proto": `syntax = "proto3";
package confluent.type;

message Variant {
  bytes metadata = 1;
  bytes value = 2;
}
`,
	"google/type/calendar_period.proto": googleType(`enum CalendarPeriod {
  CALENDAR_PERIOD_UNSPECIFIED = 0;
  DAY = 1;
  WEEK = 2;
  FORTNIGHT = 3;
  MONTH = 4;
  QUARTER = 5;
  HALF = 6;
  YEAR = 7;
}`),
	"google/type/color.proto": googleType(`import "google/protobuf/wrappers.proto";

message Color {
  float red = 1;
  float green = 2;
  float blue = 3;
  google.protobuf.FloatValue alpha = 4;
}`),
	"google/type/date.proto": dateProto,
	"google/type/datetime.proto": googleType(`import "google/protobuf/duration.proto";

message DateTime {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
  int32 hours = 4;
  int32 minutes = 5;
  int32 seconds = 6;
  int32 nanos = 7;
  oneof time_offset {
    google.protobuf.Duration utc_offset = 8;
    TimeZone time_zone = 9;
  }
}

message TimeZone {
  string id = 1;
  string version = 2;
}`),
	"google/type/dayofweek.proto": googleType(`enum DayOfWeek {
  DAY_OF_WEEK_UNSPECIFIED = 0;
  MONDAY = 1;
  TUESDAY = 2;
  WEDNESDAY = 3;
  THURSDAY = 4;
  FRIDAY = 5;
  SATURDAY = 6;
  SUNDAY = 7;
}`),
	"google/type/decimal.proto": googleType(`message Decimal {
  string value = 1;
}`),
	"google/type/expr.proto": googleType(`message Expr {
  string expression = 1;
  string title = 2;
  string description = 3;
  string location = 4;
}`),
	"google/type/fraction.proto": googleType(`message Fraction {
  int64 numerator = 1;
  int64 denominator = 2;
}`),
	"google/type/interval.proto": googleType(`import "google/protobuf/timestamp.proto";

message Interval {
  google.protobuf.Timestamp start_time = 1;
  google.protobuf.Timestamp end_time = 2;
}`),
	"google/type/latlng.proto": googleType(`message LatLng {
  double latitude = 1;
  double longitude = 2;
}`),
	"google/type/money.proto": googleType(`message Money {
  string currency_code = 1;
  int64 units = 2;
  int32 nanos = 3;
}`),
	"google/type/month.proto": googleType(`enum Month {
  MONTH_UNSPECIFIED = 0;
  JANUARY = 1;
  FEBRUARY = 2;
  MARCH = 3;
  APRIL = 4;
  MAY = 5;
  JUNE = 6;
  JULY = 7;
  AUGUST = 8;
  SEPTEMBER = 9;
  OCTOBER = 10;
  NOVEMBER = 11;
  DECEMBER = 12;
}`),
	"google/type/phone_number.proto": googleType(`message PhoneNumber {
  message ShortCode {
    string region_code = 1;
    string number = 2;
  }
  oneof kind {
    string e164_number = 1;
    ShortCode short_code = 2;
  }
  string extension = 3;
}`),
	"google/type/postal_address.proto": googleType(`message PostalAddress {
  int32 revision = 1;
  string region_code = 2;
  string language_code = 3;
  string postal_code = 4;
  string sorting_code = 5;
  string administrative_area = 6;
  string locality = 7;
  string sublocality = 8;
  repeated string address_lines = 9;
  repeated string recipients = 10;
  string organization = 11;
}`),
	"google/type/quaternion.proto": googleType(`message Quaternion {
  double x = 1;
  double y = 2;
  double z = 3;
  double w = 4;
}`),
	"google/type/timeofday.proto": timeOfDayProto,
}

// knownReferences are the known files Sluice's schemas import, as
// Confluent prints them from Java's compiled descriptors: what
// skip.known.types=false registers under subjects of their names, for
// registries that do not know them.
var knownReferences = map[string]string{
	"google/protobuf/timestamp.proto": timestampProto,
	wrappersImport:                    wrappersProto,
	"google/type/date.proto":          dateProto,
	"google/type/timeofday.proto":     timeOfDayProto,
	"confluent/type/decimal.proto":    decimalProto,
}

const timestampProto = `syntax = "proto3";
package google.protobuf;

option java_package = "com.google.protobuf";
option java_outer_classname = "TimestampProto";
option java_multiple_files = true;
option go_package = "google.golang.org/protobuf/types/known/timestamppb";
option cc_enable_arenas = true;
option objc_class_prefix = "GPB";
option csharp_namespace = "Google.Protobuf.WellKnownTypes";

message Timestamp {
  int64 seconds = 1 [json_name = "seconds"];
  int32 nanos = 2 [json_name = "nanos"];
}
`

const dateProto = `syntax = "proto3";
package google.type;

option java_package = "com.google.type";
option java_outer_classname = "DateProto";
option java_multiple_files = true;
option go_package = "google.golang.org/genproto/googleapis/type/date;date";
option cc_enable_arenas = true;
option objc_class_prefix = "GTP";

message Date {
  int32 year = 1 [json_name = "year"];
  int32 month = 2 [json_name = "month"];
  int32 day = 3 [json_name = "day"];
}
`

const timeOfDayProto = `syntax = "proto3";
package google.type;

option java_package = "com.google.type";
option java_outer_classname = "TimeOfDayProto";
option java_multiple_files = true;
option go_package = "google.golang.org/genproto/googleapis/type/timeofday;timeofday";
option cc_enable_arenas = true;
option objc_class_prefix = "GTP";

message TimeOfDay {
  int32 hours = 1 [json_name = "hours"];
  int32 minutes = 2 [json_name = "minutes"];
  int32 seconds = 3 [json_name = "seconds"];
  int32 nanos = 4 [json_name = "nanos"];
}
`

const decimalProto = `syntax = "proto3";
package confluent.type;

message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
`

func googleType(body string) string {
	return "syntax = \"proto3\";\npackage google.type;\n\n" + body + "\n"
}

// standardProto resolves Google's well-known types only.
var standardProto = protocompile.WithStandardImports(protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
	return protocompile.SearchResult{}, fmt.Errorf("import %q: %w", p, fs.ErrNotExist)
}))

// isKnownProto reports whether an import needs no schema reference.
func isKnownProto(path string) bool {
	if _, ok := knownProto[path]; ok {
		return true
	}
	_, err := standardProto.FindFileByPath(path)
	return err == nil
}

// parseProto parses one file, adding the import of confluent/meta.proto
// when it uses Confluent's options without importing it.
func parseProto(path, text string) (parser.Result, error) {
	h := reporter.NewHandler(nil)
	node, err := parser.Parse(path, strings.NewReader(text), h)
	if err != nil {
		return nil, err
	}
	res, err := parser.ResultFromAST(node, true, h)
	if err != nil {
		return nil, err
	}
	fdp := res.FileDescriptorProto()
	if path != metaImport && !slices.Contains(fdp.Dependency, metaImport) && metaOption.MatchString(text) {
		fdp.Dependency = append(fdp.Dependency, metaImport)
	}
	return res, nil
}

// protoImports lists the imports of a file.
func protoImports(path, text string) ([]string, error) {
	res, err := parseProto(path, text)
	if err != nil {
		return nil, err
	}
	return res.FileDescriptorProto().Dependency, nil
}

// compileProto compiles the file text named path, its imports taken from
// refs (a schema's references, by import name), the known files, and
// Google's well-known types.
func compileProto(path, text string, refs map[string]string) (protoreflect.FileDescriptor, error) {
	resolve := protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
		src, ok := refs[p]
		if p == path {
			src, ok = text, true
		}
		if !ok {
			src, ok = knownProto[p]
		}
		if !ok {
			return protocompile.SearchResult{}, fmt.Errorf("import %q: %w", p, fs.ErrNotExist)
		}
		res, err := parseProto(p, src)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{ParseResult: res}, nil
	})
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(resolve)}
	files, err := comp.Compile(context.Background(), path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: neither a known type nor one of the schema's references", err)
	}
	if err != nil {
		return nil, err
	}
	return files[0], nil
}
