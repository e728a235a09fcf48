package fakedagger

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"dagger.io/dagger"
)

// TestRecordedRawHTTP replays the server-side error shapes recorded with curl
// (90-extra-raw-http-not-sdk) and compares status, headers and body bytes.
func TestRecordedRawHTTP(t *testing.T) {
	srv := Start(t)
	rec := loadRecording(t, "90-extra")
	if len(rec) != 7 {
		t.Fatalf("want 7 recorded exchanges, got %d", len(rec))
	}
	for i, e := range rec {
		req, err := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(e.Request.BodyRaw))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		switch {
		case e.Request.Headers["Authorization"] == nil: // no auth at all
		case i == 1: // the recording's second request carried a wrong token
			req.SetBasicAuth("not-the-token", "")
		default:
			req.SetBasicAuth(srv.Token(), "")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != e.Response.Status {
			t.Errorf("seq %d: status %d, want %d", e.Meta.Seq, resp.StatusCode, e.Response.Status)
		}
		if string(body) != e.Response.BodyRaw {
			t.Errorf("seq %d: body\n got %s\nwant %s", e.Meta.Seq, body, e.Response.BodyRaw)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Www-Authenticate"} {
			want := strings.Join(e.Response.Headers[h], ",")
			if got := resp.Header.Get(h); got != want {
				t.Errorf("seq %d: header %s = %q, want %q", e.Meta.Seq, h, got, want)
			}
		}
	}
}

// TestAuthChecksUsernameOnly: the engine compares the Basic auth username
// with the session token and ignores the password.
func TestAuthChecksUsernameOnly(t *testing.T) {
	srv := Start(t, WithToken("tok-1"))
	cases := []struct {
		name   string
		auth   string
		status int
	}{
		{"token, empty password", "tok-1:", 200},
		{"token, any password", "tok-1:whatever", 200},
		{"password holds the token", ":tok-1", 401},
		{"prefix of the token", "tok-:", 401},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(`{"query":"query{version}","operationName":""}`))
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.auth)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}
}

func rawQuery(t *testing.T, srv *Server, query string) (int, string) {
	t.Helper()
	body := mustJSON(gqlRequest{Query: query})
	req, _ := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(string(body)))
	req.SetBasicAuth(srv.Token(), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRejectsWhatTheEngineRejects: typos in the pipeline must fail loudly,
// with the engine's status and message shape.
func TestRejectsWhatTheEngineRejects(t *testing.T) {
	srv := Start(t)
	secretID := ref{Type: "Secret", Chain: []call{{Field: "setSecret", Args: []arg{{"name", value{Kind: "string", S: "k"}}, {"plaintext", value{Kind: "string", S: "***"}}}}}}.id()
	cases := []struct {
		name   string
		query  string
		status int
		want   string
	}{
		{"unknown field", `query{container{withExecc(args:["x"]){stdout}}}`, 422,
			`{"errors":[{"message":"Cannot query field \"withExecc\" on type \"Container\".","locations":[{"line":1,"column":17}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`},
		{"unknown argument", `query{container{withExec(args:["x"], expects:ANY){stdout}}}`, 422,
			`{"errors":[{"message":"Unknown argument \"expects\" on field \"Container.withExec\".","locations":[{"line":1,"column":38}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`},
		{"missing required argument", `query{container{withExec{stdout}}}`, 422,
			`{"errors":[{"message":"Field \"withExec\" argument \"args\" of type \"[String!]!\" is required, but it was not provided.","locations":[{"line":1,"column":17}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`},
		{"bad enum", `query{container{withExec(args:["x"], expect:SOMETIMES){stdout}}}`, 422, `GRAPHQL_VALIDATION_FAILED`},
		{"object without selection", `query{container}`, 422, `must have a selection of subfields`},
		{"parse error", `query{container{from(address:"x"){id}}`, 422,
			`{"errors":[{"message":"Expected Name, found \u003cEOF\u003e","locations":[{"line":1,"column":39}],"extensions":{"code":"GRAPHQL_PARSE_FAILED"}}],"data":null}`},
		{"secret ID where a container ID belongs", `query{loadContainerFromID(id:"` + secretID + `"){stdout}}`, 200,
			`init arg \"id\" value as dagql.ID[*github.com/dagger/dagger/core.Container] (ContainerID!) using dagql.ID[*github.com/dagger/dagger/core.Container]: expected Container ID, got Secret ID"}],"data":null}`},
		{"undecodable nested ID", `query{container{withSecretVariable(name:"A", secret:"eA=="){id}}}`, 200,
			`error: parse selections: parse field \"withSecretVariable\": init arg \"secret\" value as dagql.ID[*github.com/dagger/dagger/core.Secret] (SecretID!) using dagql.ID[*github.com/dagger/dagger/core.Secret]: failed to unmarshal proto`},
		{"stdout without exec", `query{container{from(address:"alpine"){stdout}}}`, 200,
			`{"errors":[{"message":"no command has been set","path":["container","from","stdout"]}],"data":null}`},
		{"secret plaintext is not served", `query{setSecret(name:"k", plaintext:"v"){plaintext}}`, 422, `Cannot query field \"plaintext\" on type \"Secret\".`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rawQuery(t, srv, c.query)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("got %d %s\nwant %d containing %s", status, body, c.status, c.want)
			}
		})
	}
	if n := len(srv.Execs()); n != 0 {
		t.Errorf("rejected queries ran %d execs", n)
	}
}

// TestSDKSurfacesValidationErrors: through the SDK a typo is an error, not a
// silently empty answer.
func TestSDKSurfacesValidationErrors(t *testing.T) {
	ctx := context.Background()
	srv := Start(t)
	client, err := srv.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Container.Platform exists in the SDK but not in the fake's subset.
	_, err = client.Container().From("alpine").Platform(ctx)
	if err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "platform") || !strings.Contains(err.Error(), "GRAPHQL_VALIDATION_FAILED") {
		t.Fatalf("err = %v", err)
	}
	_, err = client.LoadContainerFromID(dagger.ContainerID("bm90LWFuLWlk")).Stdout(ctx)
	if err == nil || !strings.Contains(err.Error(), "failed to unmarshal proto") {
		t.Fatalf("err = %v", err)
	}
}
