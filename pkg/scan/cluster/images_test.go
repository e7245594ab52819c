package cluster

import (
	"reflect"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestCollectImages(t *testing.T) {
	docs := []string{`
kind: Pod
spec:
  initContainers: [{name: init, image: busybox:1.36}]
  containers: [{name: web, image: nginx:1.27}, {name: side, image: envoy:v1}]
status:
  containerStatuses:
    - {name: web, imageID: "docker-pullable://docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
    - {name: side, imageID: "sha256:bbbb"}
`, `
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: registry.example/backup:2}]
`, `
kind: Deployment
spec:
  template:
    spec:
      containers: [{name: api, image: registry.example/api:1.4.2}]
`, `
kind: ConfigMap
data: {image: not-an-image}
`}
	got := map[string]bool{}
	for _, d := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			t.Fatal(err)
		}
		collectImages(obj, got)
	}
	var list []string
	for k := range got {
		list = append(list, k)
	}
	sort.Strings(list)
	want := []string{"busybox:1.36", "docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"envoy:v1", "registry.example/api:1.4.2", "registry.example/backup:2"}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("images\n got %v\nwant %v", list, want)
	}
}
