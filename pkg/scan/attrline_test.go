package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A finding about a cloud resource points at the attribute that is wrong
// (Terraform and CloudFormation alike), or at the resource when the
// attribute is absent and its default is what is wrong.
func TestFindingsPointAtTheAttribute(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"db.tf": `resource "aws_db_instance" "ledger" {
  engine              = "mysql"
  instance_class      = "db.t3.small"
  allocated_storage   = 50
  publicly_accessible = true
  storage_encrypted   = false
}
`,
		"db.yaml": `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Ledger:
    Type: AWS::RDS::DBInstance
    Properties:
      StorageEncrypted: false
      Engine: mysql
      PubliclyAccessible: true
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int32{ // file → check → line
		"db.tf":   {"VGL-CLOUD-060": 5, "VGL-CLOUD-061": 6, "VGL-CLOUD-005": 1},
		"db.yaml": {"VGL-CLOUD-060": 8, "VGL-CLOUD-061": 6, "VGL-CLOUD-005": 3},
	}
	got := map[string]map[string]int32{}
	for _, f := range rep.Findings {
		file := filepath.Base(f.Location.GetPath())
		if got[file] == nil {
			got[file] = map[string]int32{}
		}
		got[file][f.CheckId] = f.Location.GetStartLine()
	}
	for file, checks := range want {
		for id, line := range checks {
			if got[file][id] != line {
				t.Errorf("%s: %s at line %d, want %d (all: %v)", file, id, got[file][id], line, got[file])
			}
		}
	}
}

// A Kubernetes finding about one entry of a list or map points at that
// entry: the ConfigMap key holding a credential, the environment variable,
// the capability added. A finding about what a list lacks (no ALL among
// the dropped capabilities) stays on the list.
func TestKubernetesFindingsPointAtTheEntry(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  region: eu-west-1
  retries: "3"
  smtp_password: "Vq7mXr2LpK9wZt"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mailer
spec:
  template:
    spec:
      containers:
        - name: mailer
          image: registry.example/mailer:2.1
          env:
            - name: QUEUE
              value: outbound
            - name: SMTP_TOKEN
              value: "tok-Qm8Zr4Lx2Vw9Np7K"
          securityContext:
            capabilities:
              add:
                - NET_BIND_SERVICE
                - SYS_ADMIN
              drop:
                - MKNOD
`
	if err := os.WriteFile(filepath.Join(dir, "mailer.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for _, f := range rep.Findings {
		got[f.CheckId] = f.Location.GetStartLine()
	}
	for id, line := range map[string]int32{"VGL-CLUSTER-116": 8, "VGL-CLUSTER-022": 23, "VGL-CLUSTER-010": 29, "VGL-CLUSTER-011": 30} {
		if got[id] != line {
			t.Errorf("%s at line %d, want %d (all: %v)", id, got[id], line, got)
		}
	}
}
