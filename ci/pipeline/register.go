package pipeline

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/pyprog"
	"github.com/acme-data/prefect-flows/ci/pytrace"
)

// Workdir is the Dockerfile's WORKDIR: entrypoints such as flows/etl.py:fn resolve from it.
const Workdir = "/opt/prefect"

type registerStep struct{}

func (registerStep) String() string {
	return "register: prefect block register -m prefect_aws.ecs, then infrastructure/ecs-task-<env>.py (Prefect 3: only the aws-credentials block, when AWS keys are given)"
}

func (registerStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	if st.prefect3() {
		// The later execs (pools, deploy) still start from the image set up for Prefect,
		// with the run's cache buster last, and without the AWS keys.
		st.Registered = prefectContainer(st).WithEnvVariable("CACHEBUSTER", st.RunID)
		if !o.AWSAccessKeyID.Set() {
			return Skip("Prefect 3: there are no infrastructure blocks; each deployment gets the image in job_variables.image (%s); no AWS keys, so no aws-credentials block: ECS workers use their own AWS credentials", st.ImageRef)
		}
		// The block is shared by every deployment of the environment's ecs pools: a run
		// that does not go through puts the previous keys back.
		if err := snapshotBefore(ctx, st, []string{credentialsRef(o.Env)}); err != nil {
			return err
		}
		st.blocksWritten = true
		return saveCredentials(ctx, st)
	}
	if err := snapshotBefore(ctx, st, savedBlocks(o.Env, st.File)); err != nil {
		return err
	}
	fmt.Fprintf(st.out, "    PREFECT_IMAGE=%s\n", st.ImageRef)
	ctr := prefectContainer(st).WithEnvVariable("PREFECT_IMAGE", st.ImageRef)
	for _, kv := range o.ecsEnv() {
		ctr = ctr.WithEnvVariable(kv[0], kv[1])
	}
	if o.AWSAccessKeyID.Set() {
		ctr = ctr.
			WithSecretVariable("AWS_ACCESS_KEY_ID", o.AWSAccessKeyID.Dagger()).
			WithSecretVariable("AWS_SECRET_ACCESS_KEY", o.AWSSecretAccessKey.Dagger())
	}
	// Last before the execs, so every run has a new cache key for them: they act on a
	// remote API and must never be answered from Dagger's cache.
	ctr = ctr.WithEnvVariable("CACHEBUSTER", st.RunID)

	reg := ctr.WithExec(append([]string{"prefect"}, prefectcli.RegisterArgs("prefect_aws.ecs")...))
	out, err := reg.Stdout(ctx)
	if err != nil {
		return fmt.Errorf("prefect block register: %w", execDetail(err))
	}
	printIndented(st.out, out)

	script := "infrastructure/ecs-task-" + o.Env + ".py"
	// From here on the blocks may have changed, even if the script fails half-way.
	st.blocksWritten = true
	infra := reg.WithExec([]string{"python", script})
	if out, err = infra.Stdout(ctx); err != nil {
		return fmt.Errorf("python %s: %w", script, execDetail(err))
	}
	printIndented(st.out, out)
	// Prefect writes each build's -o file with a bare open() before it applies, so the
	// directory must exist; an empty directory does that without another exec.
	st.Registered = infra.WithDirectory(DeployOutDir, st.Client.Directory())
	return nil
}

// snapshotBefore reads the blocks register is about to write (real API only: nothing on
// the embedded server outlives the run) into st.BlocksBefore, which the restore step
// writes back when the run does not go through.
func snapshotBefore(ctx context.Context, st *State, refs []string) error {
	if st.Opts.Embedded() {
		return nil
	}
	snap, err := snapshotBlocks(ctx, st, refs)
	if err != nil {
		return fmt.Errorf("read the blocks before saving them (nothing was written): %w", err)
	}
	st.BlocksBefore = snap
	for _, line := range snap.Describe() {
		fmt.Fprintf(st.out, "    before: %s\n", line)
	}
	return nil
}

// credentialsRef is the block register saves the AWS keys into: on Prefect 3 from
// aws_credentials.py, on Prefect 2 from the block script (with or without keys).
func credentialsRef(env string) string { return desired.CredentialsBlockType + "/" + env }

//go:embed aws_credentials.py
var credentialsSource []byte

// CredentialsProgram saves the AWS keys as the aws-credentials/<env> block (Prefect 3).
var CredentialsProgram = pyprog.New("ci/pipeline/aws_credentials.py", credentialsSource)

// saveCredentials saves the AWS keys as the aws-credentials/<env> block (prefect-aws's
// AwsCredentials, the secret key a SecretStr) from inside the image: the keys are secret
// variables of that one exec, never argv. The deployments in ecs pools name its fields
// with Prefect's block placeholders (prefect-deploy --aws-credentials-block, desired.ECS),
// so the keys never become job variables.
func saveCredentials(ctx context.Context, st *State) error {
	o := st.Opts
	ctr := withProgram(prefectContainer(st), CredentialsProgram).
		WithSecretVariable("AWS_ACCESS_KEY_ID", o.AWSAccessKeyID.Dagger()).
		WithSecretVariable("AWS_SECRET_ACCESS_KEY", o.AWSSecretAccessKey.Dagger())
	if o.ECS.Region != "" {
		ctr = ctr.WithEnvVariable("AWS_REGION", o.ECS.Region)
	}
	out, err := ctr.WithEnvVariable("CACHEBUSTER", st.RunID).WithExec(CredentialsArgs(o.Env)).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("save the AWS keys as %s/%s: %w", desired.CredentialsBlockType, o.Env, execDetail(err))
	}
	printIndented(st.out, out)
	return nil
}

// CredentialsArgs is the exec that saves the AWS keys as the aws-credentials/<env> block.
func CredentialsArgs(env string) []string { return CredentialsProgram.ContainerArgs(env) }

// prefectContainer is the image set up to talk to Prefect: the real API through secret
// variables, or the embedded server through a service binding.
func prefectContainer(st *State) *dagger.Container {
	o := st.Opts
	ctr := st.Image.WithWorkdir(Workdir)
	if o.Embedded() {
		// Not a secret: a name that only resolves inside this Dagger session.
		return ctr.
			WithServiceBinding(serverAlias, st.Server).
			WithEnvVariable("PREFECT_API_URL", EmbeddedAPIURL)
	}
	ctr = ctr.WithSecretVariable("PREFECT_API_URL", o.PrefectAPIURL.Dagger())
	if o.PrefectAPIKey.Set() {
		ctr = ctr.WithSecretVariable("PREFECT_API_KEY", o.PrefectAPIKey.Dagger())
	}
	return ctr
}

// execDetail turns the engine's terse "exit code: 1" into a pytrace.Failure: one line
// naming the exception for the step line and the summary, and the command's output, which
// the step's FAILED line shows once. The engine scrubs secret variables' values from exec
// output.
func execDetail(err error) error {
	var ee *dagger.ExecError
	if !errors.As(err, &ee) {
		return err
	}
	return pytrace.FromOutput(ee.ExitCode, ee.Stdout, ee.Stderr)
}
