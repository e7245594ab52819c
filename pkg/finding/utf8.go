package finding

import (
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Sanitize replaces invalid UTF-8 in every string field of m, nested
// messages and lists included, with U+FFFD. Scanned input is arbitrary
// bytes, but protobuf strings must be UTF-8: one bad byte in a snippet or a
// resource name would otherwise make the whole batch unencodable.
func Sanitize(m proto.Message) {
	MapStrings(m, func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	})
}

// MapStrings replaces every string of m (fields, list elements and map
// values, in nested messages too) by fn of it. Map keys are left alone.
func MapStrings(m proto.Message, fn func(string) string) {
	if m == nil {
		return
	}
	mapStrings(m.ProtoReflect(), fn)
}

func mapStrings(m protoreflect.Message, fn func(string) string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				switch fd.Kind() {
				case protoreflect.StringKind:
					s := l.Get(i).String()
					if m := fn(s); m != s {
						l.Set(i, protoreflect.ValueOfString(m))
					}
				case protoreflect.MessageKind, protoreflect.GroupKind:
					mapStrings(l.Get(i).Message(), fn)
				}
			}
		case fd.IsMap():
			mp := v.Map()
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				switch fd.MapValue().Kind() {
				case protoreflect.MessageKind:
					mapStrings(mv.Message(), fn)
				case protoreflect.StringKind:
					if s := fn(mv.String()); s != mv.String() {
						mp.Set(k, protoreflect.ValueOfString(s))
					}
				}
				return true
			})
		case fd.Kind() == protoreflect.StringKind:
			if s := fn(v.String()); s != v.String() {
				m.Set(fd, protoreflect.ValueOfString(s))
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			mapStrings(v.Message(), fn)
		}
		return true
	})
}
