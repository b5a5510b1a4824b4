package tokenserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestAuditLog checks the one record each token request leaves: what it
// must say, and that no secret reaches it.
func TestAuditLog(t *testing.T) {
	const (
		alicePassword = "alice-pw:with:colons"
		wrongPassword = "Wr0ng-but-secret!"
	)
	tests := []struct {
		name        string
		query       string
		auth        string
		password    string // must not be logged
		storeErr    error
		wantAccount string
		wantOutcome string
		wantStatus  int
		wantAsked   []string
		wantGranted []string
		wantTokenID bool
	}{
		{
			name: "partial grant",
			query: query([]string{"repository:dev/app:pull,push,delete",
				"repository:secret/x:pull"}, "account=alice"),
			auth:        basicHeader("alice", alicePassword),
			password:    alicePassword,
			wantAccount: "alice",
			wantOutcome: "partial",
			wantStatus:  http.StatusOK,
			wantAsked:   []string{"repository:dev/app:pull,push,delete", "repository:secret/x:pull"},
			wantGranted: []string{"repository:dev/app:pull,push"},
			wantTokenID: true,
		},
		{
			name:        "nothing granted",
			query:       query([]string{"repository:dev/app:push"}),
			wantAccount: "anonymous",
			wantOutcome: "denied",
			wantStatus:  http.StatusOK,
			wantAsked:   []string{"repository:dev/app:push"},
			wantTokenID: true,
		},
		{
			name:        "anonymous",
			query:       query([]string{"repository:public/app:pull"}),
			wantAccount: "anonymous",
			wantOutcome: "granted",
			wantStatus:  http.StatusOK,
			wantAsked:   []string{"repository:public/app:pull"},
			wantGranted: []string{"repository:public/app:pull"},
			wantTokenID: true,
		},
		{
			name:        "wrong password",
			query:       query([]string{"repository:dev/app:pull"}),
			auth:        basicHeader("alice", wrongPassword),
			password:    wrongPassword,
			wantAccount: "alice",
			wantOutcome: "invalid_grant",
			wantStatus:  http.StatusUnauthorized,
			wantAsked:   []string{"repository:dev/app:pull"},
		},
		{
			name:        "store down",
			query:       query([]string{"repository:dev/app:pull"}),
			auth:        basicHeader("alice", alicePassword),
			password:    alicePassword,
			storeErr:    errors.New("connection refused"),
			wantAccount: "alice",
			wantOutcome: "temporarily_unavailable",
			wantStatus:  http.StatusServiceUnavailable,
			wantAsked:   []string{"repository:dev/app:pull"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.accounts.err = tt.storeErr
			w := h.do(http.MethodGet, tt.query, tt.auth)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}

			// Nothing secret anywhere in the log, in any encoding the header
			// or the body carried it.
			logged := h.logs.String()
			var secrets []string
			if tt.password != "" {
				secrets = append(secrets, tt.password)
			}
			if tt.auth != "" {
				secrets = append(secrets, tt.auth, strings.TrimPrefix(tt.auth, "Basic "))
			}
			var body struct{ Token string }
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if body.Token != "" {
				parts := strings.Split(body.Token, ".")
				secrets = append(secrets, body.Token, parts[2])
			}
			for _, s := range secrets {
				if strings.Contains(logged, s) {
					t.Errorf("log holds a secret %q:\n%s", s, logged)
				}
			}

			records := bytes.Split(bytes.TrimSpace(h.logs.Bytes()), []byte("\n"))
			if len(records) != 1 {
				t.Fatalf("%d log records, want one:\n%s", len(records), logged)
			}
			var rec struct {
				Msg           string   `json:"msg"`
				Account       string   `json:"account"`
				ClientIP      string   `json:"client_ip"`
				Service       string   `json:"service"`
				ScopesAsked   []string `json:"scopes_asked"`
				ScopesGranted []string `json:"scopes_granted"`
				Outcome       string   `json:"outcome"`
				Status        int      `json:"status"`
				TokenID       string   `json:"token_id"`
			}
			if err := json.Unmarshal(records[0], &rec); err != nil {
				t.Fatalf("record %s: %v", records[0], err)
			}
			if rec.Account != tt.wantAccount || rec.ClientIP != "192.0.2.7" ||
				rec.Service != testService || rec.Outcome != tt.wantOutcome ||
				rec.Status != tt.wantStatus {
				t.Errorf("record %s\nwant account %q, client_ip 192.0.2.7, service %q, outcome %q, status %d",
					records[0], tt.wantAccount, testService, tt.wantOutcome, tt.wantStatus)
			}
			if !slices.Equal(rec.ScopesAsked, tt.wantAsked) {
				t.Errorf("scopes_asked %q, want %q", rec.ScopesAsked, tt.wantAsked)
			}
			if !slices.Equal(rec.ScopesGranted, tt.wantGranted) {
				t.Errorf("scopes_granted %q, want %q", rec.ScopesGranted, tt.wantGranted)
			}
			if tt.wantTokenID {
				jti := mustVerify(t, body.Token, h.ca.Cert).ID
				if rec.TokenID != jti {
					t.Errorf("token_id %q, want the jti %q", rec.TokenID, jti)
				}
			} else if rec.TokenID != "" {
				t.Errorf("token_id %q on a request that got no token", rec.TokenID)
			}

			// The keys themselves must be there, even when empty.
			var keys map[string]json.RawMessage
			_ = json.Unmarshal(records[0], &keys)
			for _, k := range []string{"account", "client_ip", "scopes_asked", "scopes_granted", "outcome"} {
				if _, ok := keys[k]; !ok {
					t.Errorf("record lacks %q: %s", k, records[0])
				}
			}
		})
	}
}
