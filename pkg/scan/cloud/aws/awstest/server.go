// Package awstest is an HTTPS endpoint that answers AWS API calls with
// responses kept in files, as AWS sends them (XML for the query and
// REST-XML protocols, JSON for the JSON ones), so collectors are tested
// with the real SDK: signing, retries, pagination and error decoding
// included.
//
// A response is found at DIR/SERVICE/OPERATION[.VARIANT].(xml|json),
// where VARIANT is the pagination token of the request, else the
// resource it names (a bucket, a policy, the account of a role to assume,
// the access key of GetCallerIdentity's caller), else nothing. "{region}" in a
// response becomes the region of the request. Faults (throttling, access
// denied) are injected per operation.
package awstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Server answers AWS API calls over TLS on loopback.
type Server struct {
	*httptest.Server
	t   testing.TB
	dir string

	mu     sync.Mutex
	faults map[string]*fault
	calls  map[string]int
}

type fault struct {
	code   string
	status int
	times  int // 0: every call
}

// New starts a server answering from dir; it stops when the test ends.
func New(t testing.TB, dir string) *Server {
	s := &Server{t: t, dir: dir, faults: map[string]*fault{}, calls: map[string]int{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Fail makes the next times calls of op ("ec2:DescribeSecurityGroups",
// "s3:GetBucketPolicy/public-site") fail with an AWS error code and HTTP
// status; times 0 fails every call.
func (s *Server) Fail(op, code string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = &fault{code: code, status: status, times: times}
}

// Calls returns how many calls of op ("service:Operation") the server got.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

var accessKey = regexp.MustCompile(`Credential=([^/]+)/`)

var credential = regexp.MustCompile(`Credential=[^/]+/[0-9]+/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request`)

// protocol families, by service.
var protocols = map[string]string{"ec2": "ec2", "iam": "query", "sts": "query", "rds": "query", "elasticloadbalancing": "query", "elasticache": "query", "redshift": "query", "sns": "query", "sqs": "json", "secretsmanager": "json", "organizations": "json",
	"cloudtrail": "json", "kms": "json", "ecr": "json", "ecs": "json", "dynamodb": "json", "eks": "rest-json", "lambda": "rest-json", "guardduty": "rest-json", "s3": "rest-xml"}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := credential.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		http.Error(w, "unsigned request", http.StatusForbidden)
		return
	}
	region, service := m[1], m[2]
	body, _ := io.ReadAll(r.Body)
	op, variant := s.operation(service, r, body)
	key := service + ":" + op
	s.mu.Lock()
	s.calls[key]++
	f := s.faults[key]
	if f == nil && variant != "" {
		f = s.faults[key+"/"+variant]
	}
	if f != nil && f.times > 0 {
		if f.times--; f.times == 0 {
			delete(s.faults, key)
			delete(s.faults, key+"/"+variant)
		}
	}
	s.mu.Unlock()
	if f != nil {
		s.fail(w, service, f.code, f.status)
		return
	}
	path, data := s.find(service, op, variant)
	if data == nil {
		if code, ok := absent[key]; ok {
			s.fail(w, service, code, http.StatusNotFound)
			return
		}
		s.t.Errorf("awstest: no response for %s (variant %q) in %s", key, variant, filepath.Join(s.dir, service))
		s.fail(w, service, "InternalFailure", http.StatusInternalServerError)
		return
	}
	data = []byte(strings.ReplaceAll(string(data), "{region}", region))
	switch {
	case strings.HasSuffix(path, ".json") && protocols[service] == "json":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	case strings.HasSuffix(path, ".json"):
		w.Header().Set("Content-Type", "application/json")
	default:
		w.Header().Set("Content-Type", "text/xml")
	}
	w.Header().Set("X-Amzn-Requestid", "5b4e8b1e-awstest")
	w.Write(data)
}

// absent are the errors AWS gives when a bucket has no such setting.
var absent = map[string]string{
	"s3:GetPublicAccessBlock": "NoSuchPublicAccessBlockConfiguration",
	"s3:GetBucketPolicy":      "NoSuchBucketPolicy",
	"s3:GetBucketEncryption":  "ServerSideEncryptionConfigurationNotFoundError",
}

// operation names the API operation of a request, and its variant.
func (s *Server) operation(service string, r *http.Request, body []byte) (op, variant string) {
	q := r.URL.Query()
	switch protocols[service] {
	case "ec2", "query":
		form, _ := url.ParseQuery(string(body))
		op = form.Get("Action")
		variant = first(form.Get("NextToken"), form.Get("Marker"))
		switch op {
		case "GetPolicyVersion": // the policy's name
			if arn := form.Get("PolicyArn"); variant == "" && arn != "" {
				variant = arn[strings.LastIndex(arn, "/")+1:]
			}
		case "AssumeRole": // the account of the role
			if parts := strings.Split(form.Get("RoleArn"), ":"); len(parts) > 4 {
				variant = parts[4]
			}
		case "DescribeLoggingStatus": // the cluster's name
			if variant == "" {
				variant = form.Get("ClusterIdentifier")
			}
		case "GetTopicAttributes": // the topic's name
			if arn := form.Get("TopicArn"); variant == "" && arn != "" {
				variant = arn[strings.LastIndex(arn, ":")+1:]
			}
		case "DescribeLoadBalancerAttributes", "DescribeListeners": // the load balancer's name
			if parts := strings.Split(form.Get("LoadBalancerArn"), "/"); variant == "" && len(parts) >= 3 {
				variant = parts[len(parts)-2]
			}
		case "GetCallerIdentity": // the caller's access key
			if m := accessKey.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
				variant = m[1]
			}
		}
	case "json":
		t := r.Header.Get("X-Amz-Target")
		op = t[strings.LastIndex(t, ".")+1:]
		var in map[string]any
		json.Unmarshal(body, &in)
		for _, k := range []string{"NextToken", "Marker", "nextToken", "ExclusiveStartTableName", "TableName", "QueueUrl"} {
			if v, _ := in[k].(string); variant == "" && v != "" {
				variant = v[strings.LastIndex(v, "/")+1:]
			}
		}
	case "rest-json":
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case service == "eks" && len(parts) == 1:
			op = "ListClusters"
		case service == "eks":
			op, variant = "DescribeCluster", ""
		case service == "lambda":
			op = "ListFunctions"
		case service == "guardduty" && len(parts) == 1:
			op = "ListDetectors"
		case service == "guardduty":
			op = "GetDetector"
		}
		variant = first(variant, q.Get("nextToken"), q.Get("Marker"))
	case "rest-xml":
		bucket := strings.Trim(r.URL.Path, "/")
		if bucket == "" {
			return "ListBuckets", q.Get("continuation-token")
		}
		for param, name := range map[string]string{"acl": "GetBucketAcl", "policy": "GetBucketPolicy", "publicAccessBlock": "GetPublicAccessBlock",
			"encryption": "GetBucketEncryption", "versioning": "GetBucketVersioning", "logging": "GetBucketLogging", "location": "GetBucketLocation"} {
			if _, ok := q[param]; ok {
				return name, bucket
			}
		}
		return "Unknown", bucket
	}
	return op, variant
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// find reads the response file of an operation, its variant's first.
func (s *Server) find(service, op, variant string) (string, []byte) {
	var names []string
	if variant != "" {
		names = append(names, op+"."+variant)
	}
	names = append(names, op)
	for _, n := range names {
		for _, ext := range []string{".xml", ".json"} {
			p := filepath.Join(s.dir, service, n+ext)
			if data, err := os.ReadFile(p); err == nil {
				return p, data
			}
		}
	}
	return "", nil
}

// fail writes an AWS error in the service's protocol.
func (s *Server) fail(w http.ResponseWriter, service, code string, status int) {
	msg := "awstest: " + code
	switch protocols[service] {
	case "ec2":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>awstest</RequestID></Response>`, code, msg)
	case "query":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>awstest</RequestId></ErrorResponse>`, code, msg)
	case "rest-xml":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>awstest</RequestId></Error>`, code, msg)
	case "json":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", code)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":%q}`, msg)
	}
}
