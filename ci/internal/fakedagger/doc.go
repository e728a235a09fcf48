// Package fakedagger is a fake Dagger engine session for tests: an HTTP server
// on 127.0.0.1 that speaks the GraphQL protocol of dagger.io/dagger v0.19.7
// the way a real v0.19.7 engine does in ../shared/dagger/recorded, so the real
// SDK (and the pipeline built on it) runs against it unchanged.
//
// # Starting and connecting
//
//	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
//		if ex.Args[0] == "prefect" && ex.Args[1] == "version" {
//			return fakedagger.ExecResult{Stdout: "Version: 2.14.21\n"}
//		}
//		return fakedagger.ExecResult{ExitCode: 1, Stdout: "nope\n"}
//	}))
//	client, err := srv.Connect(ctx) // dagger.Connect with dagger.WithConn(srv.Conn()); closed at test end
//
// Connect uses dagger.WithConn, so tests can run in parallel without touching
// the process environment. For a subprocess (go run mage.go ...), pass
// srv.Env(): DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN.
//
// # What the engine does here
//
// Queries are parsed (the engine's own parser, gqlparser) and checked against
// a schema holding the subset of the Dagger API in schema.graphqls; anything
// else is answered like the engine answers an unknown field (HTTP 422,
// GRAPHQL_VALIDATION_FAILED), so a typo in the pipeline fails loudly.
//
// Objects are their call chains ("recipes"), as on the engine: IDs are
// self-contained (base64 of the chain), loadXFromID resolves them, and an ID
// the fake did not issue is answered like the engine's "undecodable ID"
// (HTTP 200, errors[0].message, no extensions). setSecret blanks the
// plaintext in the recipe, so a secret's ID and every cache key depend on the
// secret's name only; changing a secret's value does not bust the cache.
//
// Nothing runs until a leaf needs it. stdout, stderr, exitCode, sync and
// publish run the execs of the chain in order; id does not. Every withExec is
// played by the ExecHandler, unless an identical chain (the recipe up to that
// withExec: arguments sorted, secrets by name, env values included, so a
// changed CACHEBUSTER is a different exec) already succeeded: then the cached
// result is served without calling the handler. Identical execs in flight at
// once run once. Failed execs are not cached. A non-zero exit with the default
// expect is answered with the engine's EXEC_ERROR (message
// "exit code: N [traceparent:…]", path, extensions _type, cmd, exitCode,
// stderr and stdout trimmed), which the SDK turns into *dagger.ExecError; with
// Expect: dagger.ReturnTypeAny the leaves answer untrimmed. Secret values are
// scrubbed to *** in the output the engine answers.
//
// publish answers "<address>@sha256:<64 hex>", a digest of the image recipe
// (registry auth left out). Files an exec writes (ExecResult.Files) can be read
// back with Container.File(path).Contents.
//
// Exec.DirExists(path) says whether a directory exists in the exec's
// container: the image's (DefaultImageDirs plus WithImageDirs), or one the
// chain made (withWorkdir, withDirectory, withMounted*, parents of files).
// Handlers use it to fail a command that writes into a missing directory, as
// the real one would.
//
// # Assertions
//
//   - srv.Requests() / srv.Queries(): raw query texts with timings, status,
//     response and the number of requests in flight when each arrived.
//   - srv.Execs(): every handler call (Exec with argv, Env, Secrets, Workdir,
//     Base, Files, Mounts, Services, Expect, Recipe/Key; Result; Start/End);
//     srv.ExecCalls(argv...) counts calls with exactly that argv;
//     srv.MaxConcurrentExecs() is the most handler calls running at once.
//   - srv.Builds(): each distinct dockerBuild (context path, include/exclude,
//     dockerfile, build args, target, secret names) and how often it was needed.
//   - srv.Publishes(): address, returned ref and digest, registry auth
//     (address, username, secret name), the published container's state.
//   - srv.Secrets(): every setSecret (name, plaintext);
//     srv.SecretLeaks() lists every other place a plaintext shows up (query
//     texts, argv, plain env values, written files, publish addresses).
//   - srv.Services(): each started service (its container, args, exposed
//     ports), how often it was started and stopped. An explicitly started
//     service is shared by the execs bound to it, as on the engine.
//
// Not modelled: the Dagger API outside schema.graphqls, real filesystems
// inside containers (beyond DirExists), host-directory content hashes (a host directory's recipe
// is its path and filters), service health checks.
package fakedagger
