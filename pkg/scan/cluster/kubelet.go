package cluster

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// kubeletModel is the effective kubelet configuration that kubelet checks
// read, from a KubeletConfiguration file or from a host sensor's
// KubeletInfo (the command line plus the config file's content). Command-
// line flags win over the file; unset values take the kubelet's defaults,
// which differ between a kubelet run with a config file and one without.
//
// Fields: anonymous, authz_mode, client_ca, read_only_port,
// streaming_idle_timeout, protect_kernel_defaults, iptables_util_chains,
// hostname_override, event_qps, tls_cert_file, tls_private_key_file,
// server_tls_bootstrap, rotate_certificates ("true", "false" or "" when
// not set), rotate_server_certificates (same), tls_cipher_suites, has_config.
func kubeletModel(obj map[string]any, kind string) (map[string]any, bool) {
	var file map[string]any
	var flags map[string]string
	switch kind {
	case "KubeletConfiguration":
		file = obj
	case "KubeletInfo":
		data, _ := obj["data"].(map[string]any)
		if data == nil {
			return nil, false
		}
		if cmd, ok := data["cmdLine"].(string); ok {
			flags = parseFlagString(cmd)
		}
		file = kubeletConfigFile(data)
	default:
		return nil, false
	}
	hasConfig := file != nil
	k := map[string]any{
		"has_config": hasConfig, "anonymous": !hasConfig, "authz_mode": "AlwaysAllow", "client_ca": "",
		"read_only_port": int64(10255), "streaming_idle_timeout": "4h0m0s", "protect_kernel_defaults": false,
		"iptables_util_chains": true, "hostname_override": "", "event_qps": int64(50), "tls_cert_file": "",
		"tls_private_key_file": "", "server_tls_bootstrap": false, "rotate_certificates": "",
		"rotate_server_certificates": "", "tls_cipher_suites": []any{},
	}
	if hasConfig {
		kubeletFromFile(k, file)
	}
	kubeletFromFlags(k, flags)
	return k, true
}

// kubeletConfigFile decodes the configuration file a KubeletInfo carries
// (base64 or plain YAML), nil when it has none.
func kubeletConfigFile(data map[string]any) map[string]any {
	cf, ok := data["configFile"].(map[string]any)
	if !ok {
		return nil
	}
	content, ok := cf["content"].(string)
	if !ok || content == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		raw = []byte(content)
	}
	var m map[string]any
	if yaml.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// lookupPath follows a path of keys through nested maps.
func lookupPath(cur any, path ...string) (any, bool) {
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// kubeletFromFile sets the fields a configuration file gives, over the
// defaults of a kubelet run with one (webhook authorization, no read-only
// port).
func kubeletFromFile(k, file map[string]any) {
	k["authz_mode"] = "Webhook"
	k["read_only_port"] = int64(0)
	for field, path := range map[string][]string{
		"anonymous":               {"authentication", "anonymous", "enabled"},
		"authz_mode":              {"authorization", "mode"},
		"client_ca":               {"authentication", "x509", "clientCAFile"},
		"read_only_port":          {"readOnlyPort"},
		"streaming_idle_timeout":  {"streamingConnectionIdleTimeout"},
		"protect_kernel_defaults": {"protectKernelDefaults"},
		"iptables_util_chains":    {"makeIPTablesUtilChains"},
		"event_qps":               {"eventRecordQPS"},
		"tls_cert_file":           {"tlsCertFile"},
		"tls_private_key_file":    {"tlsPrivateKeyFile"},
		"server_tls_bootstrap":    {"serverTLSBootstrap"},
	} {
		if v, ok := lookupPath(file, path...); ok && v != nil {
			k[field] = normalizeScalar(v)
		}
	}
	if v, ok := lookupPath(file, "rotateCertificates"); ok {
		k["rotate_certificates"] = fmt.Sprint(v)
	}
	if v, ok := lookupPath(file, "featureGates", "RotateKubeletServerCertificate"); ok {
		k["rotate_server_certificates"] = fmt.Sprint(v)
	}
	if v, ok := lookupPath(file, "tlsCipherSuites"); ok {
		if list, ok := v.([]any); ok {
			k["tls_cipher_suites"] = list
		}
	}
}

// kubeletFromFlags sets the fields command-line flags give; they win over
// the file.
func kubeletFromFlags(k map[string]any, flags map[string]string) {
	flag := func(field, name string, conv func(string) any) {
		if v, ok := flags[name]; ok {
			k[field] = conv(v)
		}
	}
	str := func(s string) any { return s }
	boolean := func(s string) any { b, err := strconv.ParseBool(s); return err == nil && b }
	integer := func(s string) any { n, _ := strconv.ParseInt(s, 10, 64); return n }
	flag("anonymous", "anonymous-auth", boolean)
	flag("authz_mode", "authorization-mode", str)
	flag("client_ca", "client-ca-file", str)
	flag("read_only_port", "read-only-port", integer)
	flag("streaming_idle_timeout", "streaming-connection-idle-timeout", str)
	flag("protect_kernel_defaults", "protect-kernel-defaults", boolean)
	flag("iptables_util_chains", "make-iptables-util-chains", boolean)
	flag("hostname_override", "hostname-override", str)
	flag("event_qps", "event-qps", integer)
	flag("tls_cert_file", "tls-cert-file", str)
	flag("tls_private_key_file", "tls-private-key-file", str)
	flag("rotate_certificates", "rotate-certificates", func(s string) any { return strconv.FormatBool(boolean(s).(bool)) })
	if gates, ok := flags["feature-gates"]; ok {
		for _, g := range strings.Split(gates, ",") {
			if name, v, ok := strings.Cut(strings.TrimSpace(g), "="); ok && name == "RotateKubeletServerCertificate" {
				k["rotate_server_certificates"] = v
			}
		}
	}
	if v, ok := flags["tls-cipher-suites"]; ok {
		list := []any{}
		for _, c := range strings.Split(v, ",") {
			list = append(list, strings.TrimSpace(c))
		}
		k["tls_cipher_suites"] = list
	}
}

func normalizeScalar(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case float64:
		return int64(t)
	}
	return v
}

// parseFlagString reads --flags from a command line given as one string.
func parseFlagString(cmd string) map[string]string {
	fields := strings.Fields(cmd)
	list := make([]any, len(fields))
	for i, f := range fields {
		list[i] = f
	}
	cl := parseCommandLine(map[string]any{"command": list}, "")
	out := map[string]string{}
	for k, v := range cl.flags {
		out[k] = fmt.Sprint(v)
	}
	return out
}
