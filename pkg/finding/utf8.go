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
	if m == nil {
		return
	}
	sanitize(m.ProtoReflect())
}

func sanitize(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				switch fd.Kind() {
				case protoreflect.StringKind:
					if s := l.Get(i).String(); !utf8.ValidString(s) {
						l.Set(i, protoreflect.ValueOfString(strings.ToValidUTF8(s, "\uFFFD")))
					}
				case protoreflect.MessageKind, protoreflect.GroupKind:
					sanitize(l.Get(i).Message())
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					sanitize(mv.Message())
				} else if fd.MapValue().Kind() == protoreflect.StringKind && !utf8.ValidString(mv.String()) {
					v.Map().Set(k, protoreflect.ValueOfString(strings.ToValidUTF8(mv.String(), "\uFFFD")))
				}
				return true
			})
		case fd.Kind() == protoreflect.StringKind:
			if s := v.String(); !utf8.ValidString(s) {
				m.Set(fd, protoreflect.ValueOfString(strings.ToValidUTF8(s, "\uFFFD")))
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			sanitize(v.Message())
		}
		return true
	})
}
