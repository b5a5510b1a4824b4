package registryconf

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	base := Options{
		Addr:    ":5000",
		Realm:   "https://192.168.0.1:5001/token",
		Service: "registry",
		Issuer:  "regauth",
		CertDir: ContainerCertDir,
		DataDir: ContainerDataDir,
	}
	tests := []struct {
		name    string
		change  func(*Options)
		wantErr bool
		wantTLS bool
	}{
		{name: "container paths", change: func(*Options) {}, wantTLS: true},
		{name: "host paths", change: func(o *Options) { o.CertDir, o.DataDir = "/srv/r/pki", "/srv/r/data" }, wantTLS: true},
		{name: "behind a TLS proxy", change: func(o *Options) { o.NoTLS = true }},
		{name: "no realm", change: func(o *Options) { o.Realm = "" }, wantErr: true},
		{name: "no service", change: func(o *Options) { o.Service = "" }, wantErr: true},
		{name: "no cert dir", change: func(o *Options) { o.CertDir = "" }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(&o)
			data, err := Generate(o)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Generate succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(data)
			if err != nil {
				t.Fatalf("the registry's parser refuses the generated file: %v", err)
			}
			if cfg.Auth.Type() != "token" {
				t.Fatalf("auth type %q, want token", cfg.Auth.Type())
			}
			tok := cfg.Auth["token"]
			want := map[string]string{
				"realm": o.Realm, "service": o.Service, "issuer": o.Issuer,
				"rootcertbundle": o.CertDir + "/ca.crt",
			}
			for k, v := range want {
				if got, _ := tok[k].(string); got != v {
					t.Errorf("auth.token.%s = %q, want %q", k, got, v)
				}
			}
			if hasTLS := cfg.HTTP.TLS.Certificate != ""; hasTLS != tt.wantTLS {
				t.Errorf("tls configured = %v, want %v", hasTLS, tt.wantTLS)
			}
			if tt.wantTLS && cfg.HTTP.TLS.Key != o.CertDir+"/server.key" {
				t.Errorf("tls key %q", cfg.HTTP.TLS.Key)
			}
			if cfg.HTTP.Secret == "" {
				t.Error("no http.secret: registries behind one balancer would disagree on uploads")
			}
			if !strings.Contains(string(data), "rootdirectory: "+o.DataDir) {
				t.Errorf("storage root %q missing:\n%s", o.DataDir, data)
			}
		})
	}
}

func TestGenerateSecretsDiffer(t *testing.T) {
	o := Options{Realm: "https://h/token", Service: "s", Issuer: "i", CertDir: "/c"}
	a, _ := Generate(o)
	b, _ := Generate(o)
	ca, _ := Parse(a)
	cb, _ := Parse(b)
	if ca.HTTP.Secret == cb.HTTP.Secret {
		t.Fatal("two generated configs share an http.secret")
	}
}
