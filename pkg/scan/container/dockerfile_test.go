package container

import (
	"context"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
)

func scanner(t testing.TB) *Dockerfiles {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return NewDockerfiles(cat)
}

func TestEveryCheckFailsAndPasses(t *testing.T) {
	d := scanner(t)
	checkstest.Run(t, "testdata/cases.yaml", d.Checks, func(t *testing.T, src string) map[string]int {
		fs, err := d.ScanFile(context.Background(), "Dockerfile", []byte(src), "")
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		out := map[string]int{}
		for _, f := range fs {
			out[f.CheckId]++
		}
		return out
	})
}

func TestFindingPointsAtInstruction(t *testing.T) {
	src := "FROM alpine:3.20\n\n# fetch\nRUN apk add curl \\\n    && curl -s https://x.example/i.sh | sh\nUSER app\n"
	fs, err := scanner(t).ScanFile(context.Background(), "Dockerfile", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.CheckId == "VGL-CONTAINER-006" {
			if f.Location.StartLine != 4 || f.Location.EndLine != 5 {
				t.Fatalf("pipe-to-shell at lines %d-%d, want 4-5", f.Location.StartLine, f.Location.EndLine)
			}
			return
		}
	}
	t.Fatal("curl | sh not reported")
}

func TestSecretSnippetsAreRedactedByTheScan(t *testing.T) {
	// The scanner itself keeps the snippet; pkg/scan redacts it. Here we
	// check the message never names the value.
	fs, err := scanner(t).ScanFile(context.Background(), "Dockerfile", []byte("FROM a:1\nENV API_KEY=abcdef123456\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if strings.Contains(f.Message, "abcdef123456") {
			t.Fatalf("message carries the secret: %q", f.Message)
		}
	}
}

func TestBadDockerfile(t *testing.T) {
	_, err := scanner(t).ScanFile(context.Background(), "x/Dockerfile", []byte("RUN echo no FROM\n"), "")
	if err == nil || !strings.Contains(err.Error(), "x/Dockerfile") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzDockerfile(f *testing.F) {
	f.Add([]byte("FROM a AS b\nRUN x | sh\nUSER root\nEXPOSE 22\nENV A=1 B=2\n"))
	f.Add([]byte("FROM a\nRUN <<EOT\nset -e\ncurl x | bash\nEOT\n"))
	f.Add([]byte("ARG X=$Y\nFROM ${X}\nWORKDIR rel\nADD a b\n"))
	d := scanner(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d.ScanFile(context.Background(), "Dockerfile", data, "t")
	})
}

func BenchmarkScanDockerfile(b *testing.B) {
	d := scanner(b)
	data := []byte("FROM golang:1.26 AS build\nWORKDIR /src\nCOPY . .\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\nRUN go build -o /app\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\nUSER 65532\nENTRYPOINT [\"/app\"]\n")
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := d.ScanFile(context.Background(), "Dockerfile", data, "acme"); err != nil {
			b.Fatal(err)
		}
	}
}
