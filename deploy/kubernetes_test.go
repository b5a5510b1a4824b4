package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/regauth/regauth/acl"
)

// k8sObject is one document of the manifests.
type k8sObject struct {
	file string
	doc  map[string]any
}

func (o k8sObject) kind() string { return stringAt(o.doc, "kind") }
func (o k8sObject) name() string { return stringAt(mapAt(o.doc, "metadata"), "name") }

// loadManifests decodes every document of every file in deploy/kubernetes.
func loadManifests(t *testing.T) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	var objs []k8sObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc != nil {
				objs = append(objs, k8sObject{f, doc})
			}
		}
	}
	return objs
}

func findObject(objs []k8sObject, kind, name string) (k8sObject, bool) {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o, true
		}
	}
	return k8sObject{}, false
}

// TestKubernetesManifests checks that every manifest is a named object,
// that the token server Deployment runs two replicas with HTTPS probes on
// /readyz and /healthz, and that what it refers to exists: its Service,
// ConfigMap, Redis, and a Secret the README tells how to create.
func TestKubernetesManifests(t *testing.T) {
	objs := loadManifests(t)
	for _, o := range objs {
		if stringAt(o.doc, "apiVersion") == "" || o.kind() == "" || o.name() == "" {
			t.Errorf("%s: a document without apiVersion, kind or metadata.name", o.file)
		}
		if o.kind() == "Secret" {
			t.Errorf("%s: Secret %s is committed; keys are created with kubectl, never committed",
				o.file, o.name())
		}
	}

	dep, ok := findObject(objs, "Deployment", "regauth")
	if !ok {
		t.Fatal("no Deployment regauth")
	}
	spec := mapAt(dep.doc, "spec")
	if r, _ := spec["replicas"].(int); r != 2 {
		t.Errorf("regauth replicas = %v, want 2", spec["replicas"])
	}
	pod := mapAt(mapAt(spec, "template"), "spec")
	containers := listAt(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers in the regauth pod, want 1", len(containers))
	}
	c := containers[0].(map[string]any)

	checkProbe(t, c, "readinessProbe", "/readyz")
	checkProbe(t, c, "livenessProbe", "/healthz")
	checkPodSecurity(t, pod, c)
	checkEnvStore(t, c)
	checkVolumes(t, objs, pod, c)
	checkK8sService(t, objs, dep, c)
	if _, ok := findObject(objs, "Deployment", "regauth-redis"); !ok {
		t.Error("no Deployment regauth-redis")
	}
	if _, ok := findObject(objs, "Service", "regauth-redis"); !ok {
		t.Error("no Service regauth-redis, the host in REGAUTH_STORE")
	}
}

func checkProbe(t *testing.T, c map[string]any, probe, path string) {
	t.Helper()
	get := mapAt(mapAt(c, probe), "httpGet")
	if stringAt(get, "path") != path || stringAt(get, "scheme") != "HTTPS" {
		t.Errorf("%s: httpGet %v, want path %s over HTTPS", probe, get, path)
	}
	if port := stringAt(get, "port"); !containerHasPort(c, port) {
		t.Errorf("%s: port %q is not a port of the container", probe, port)
	}
}

func containerHasPort(c map[string]any, port string) bool {
	for _, p := range listAt(c, "ports") {
		if stringAt(p, "name") == port || stringAt(p, "containerPort") == port {
			return true
		}
	}
	return false
}

func checkPodSecurity(t *testing.T, pod, c map[string]any) {
	t.Helper()
	psc := mapAt(pod, "securityContext")
	if psc["runAsNonRoot"] != true || stringAt(psc, "runAsUser") == "0" {
		t.Errorf("pod securityContext %v: want runAsNonRoot and a non-zero uid", psc)
	}
	sc := mapAt(c, "securityContext")
	if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
		t.Errorf("container securityContext %v: want a read-only root and no privilege escalation", sc)
	}
}

func checkEnvStore(t *testing.T, c map[string]any) {
	t.Helper()
	for _, e := range listAt(c, "env") {
		if stringAt(e, "name") == "REGAUTH_STORE" {
			if v := stringAt(e, "value"); !strings.HasPrefix(v, "redis://") {
				t.Errorf("REGAUTH_STORE = %q, want a redis:// URL", v)
			}
			return
		}
	}
	t.Error("no REGAUTH_STORE: the replicas would each keep their own accounts")
}

// checkVolumes checks that the mounts resolve, and that the config, the
// rules and every PKI file the config names are in the mounted volume.
func checkVolumes(t *testing.T, objs []k8sObject, pod, c map[string]any) {
	t.Helper()
	volumes := map[string]map[string]any{}
	for _, v := range listAt(pod, "volumes") {
		volumes[stringAt(v, "name")] = v.(map[string]any)
	}
	var configVolume map[string]any
	for _, m := range listAt(c, "volumeMounts") {
		v, ok := volumes[stringAt(m, "name")]
		if !ok {
			t.Errorf("volumeMount %s names no volume", stringAt(m, "name"))
		}
		if stringAt(m, "mountPath") == "/etc/regauth" {
			configVolume = v
		}
	}
	if configVolume == nil {
		t.Fatal("nothing is mounted at /etc/regauth")
	}

	files := map[string]bool{}
	for _, src := range listAt(mapAt(configVolume, "projected"), "sources") {
		for kind, ref := range src.(map[string]any) {
			name := stringAt(ref, "name")
			switch kind {
			case "configMap":
				if _, ok := findObject(objs, "ConfigMap", name); !ok {
					t.Errorf("ConfigMap %s is not in the manifests", name)
				}
			case "secret":
				checkSecretDocumented(t, name, listAt(ref, "items"))
			}
			for _, it := range listAt(ref, "items") {
				files[stringAt(it, "path")] = true
			}
		}
	}
	checkConfigMapFiles(t, objs, files)
}

// checkSecretDocumented checks that deploy/README.md shows the kubectl
// command that creates the Secret with every key the pod mounts.
func checkSecretDocumented(t *testing.T, name string, items []any) {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "kubectl create secret generic "+name)
	if start < 0 {
		t.Fatalf("README.md does not show kubectl create secret generic %s", name)
	}
	cmd := text[start:]
	if end := strings.Index(cmd, "\n```"); end >= 0 {
		cmd = cmd[:end]
	}
	for _, it := range items {
		if key := stringAt(it, "key"); !strings.Contains(cmd, "--from-file="+key+"=") {
			t.Errorf("the README's kubectl create secret %s has no --from-file=%s=...", name, key)
		}
	}
}

// checkConfigMapFiles checks the config.yaml of the ConfigMap: only keys
// regauth documents, a Redis store left to the environment, and every
// file it names present in the mounted volume. The rules must load.
func checkConfigMapFiles(t *testing.T, objs []k8sObject, files map[string]bool) {
	t.Helper()
	cm, _ := findObject(objs, "ConfigMap", "regauth-config")
	data := mapAt(cm.doc, "data")
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(stringAt(data, "config.yaml")), &cfg); err != nil {
		t.Fatalf("ConfigMap config.yaml: %v", err)
	}
	keys := configKeys(t)
	for k, v := range cfg {
		if !keys[k] {
			t.Errorf("ConfigMap config.yaml: key %q is not in config.example.yaml", k)
		}
		if sub, ok := v.(map[string]any); ok {
			for sk := range sub {
				if !keys[k+"."+sk] {
					t.Errorf("ConfigMap config.yaml: key %q is not in config.example.yaml", k+"."+sk)
				}
			}
		}
	}
	for _, f := range []string{
		stringAt(cfg, "acl"),
		stringAt(mapAt(cfg, "tls"), "cert"), stringAt(mapAt(cfg, "tls"), "key"),
		stringAt(mapAt(cfg, "signing"), "cert"), stringAt(mapAt(cfg, "signing"), "key"),
		filepath.Join(stringAt(cfg, "pki_dir"), "ca.crt"),
	} {
		if !files[f] {
			t.Errorf("config.yaml names %s, which the volume at /etc/regauth does not hold", f)
		}
	}
	if _, _, err := acl.Parse([]byte(stringAt(data, "acl.yaml"))); err != nil {
		t.Errorf("ConfigMap acl.yaml: %v", err)
	}
}

// checkK8sService checks that the Service selects the Deployment's pods and
// targets a port the container has.
func checkK8sService(t *testing.T, objs []k8sObject, dep k8sObject, c map[string]any) {
	t.Helper()
	svc, ok := findObject(objs, "Service", "regauth")
	if !ok {
		t.Fatal("no Service regauth")
	}
	labels := mapAt(mapAt(mapAt(mapAt(dep.doc, "spec"), "template"), "metadata"), "labels")
	for k, v := range mapAt(mapAt(svc.doc, "spec"), "selector") {
		if labels[k] != v {
			t.Errorf("Service selector %s=%v does not match the pod labels %v", k, v, labels)
		}
	}
	for _, p := range listAt(mapAt(svc.doc, "spec"), "ports") {
		if !containerHasPort(c, stringAt(p, "targetPort")) {
			t.Errorf("Service targetPort %s is not a container port", stringAt(p, "targetPort"))
		}
	}
	has5001 := func(p any) bool { return stringAt(p, "containerPort") == "5001" }
	if !slices.ContainsFunc(listAt(c, "ports"), has5001) {
		t.Error("the container does not expose 5001, the addr of config.yaml")
	}
}
