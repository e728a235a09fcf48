package pipeline

import (
	"context"
	"fmt"
	"strings"

	"dagger.io/dagger"
)

type imageStep struct{}

func (imageStep) String() string { return "image: build the Dockerfile from the source directory" }

func (imageStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	src := o.Source
	if src == nil {
		src = st.Client.Host().Directory(o.SourceDir, dagger.HostDirectoryOpts{Exclude: SourceExcludes})
	}
	var args []dagger.BuildArg
	if o.BaseImage != "" {
		args = append(args, dagger.BuildArg{Name: "BASE_IMAGE", Value: o.BaseImage})
		fmt.Fprintf(st.out, "    BASE_IMAGE=%s\n", o.BaseImage)
	}
	img, err := src.DockerBuild(dagger.DirectoryDockerBuildOpts{Dockerfile: "Dockerfile", BuildArgs: args}).Sync(ctx)
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	st.Image = img
	return nil
}

type publishStep struct{}

func (publishStep) String() string {
	return "publish: push <env> and <env>-<sha> tags; the digest becomes PREFECT_IMAGE"
}

func (publishStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	if o.Registry == "" {
		st.ImageRef = o.repository() + ":" + o.Env
		st.Report.ImageRef = st.ImageRef
		return Skip("REGISTRY is not set: the image was NOT published; PREFECT_IMAGE=%s names a local image only", st.ImageRef)
	}
	ctr := st.Image
	if o.RegistryPassword != nil {
		ctr = ctr.WithRegistryAuth(o.Registry, o.RegistryUsername, o.RegistryPassword)
	}
	base := strings.TrimSuffix(o.Registry, "/") + "/" + strings.TrimPrefix(o.repository(), "/")
	for _, tag := range []string{o.Env, o.Env + "-" + st.GitSHA} {
		ref, err := ctr.Publish(ctx, base+":"+tag)
		if err != nil {
			return fmt.Errorf("push %s:%s: %w", base, tag, err)
		}
		fmt.Fprintf(st.out, "    pushed %s\n", ref)
		st.Published = append(st.Published, ref)
	}
	// The engine answers with <address>@sha256:...; ECS must run exactly that digest, not a
	// tag that the next push moves.
	ref := st.Published[0]
	if !strings.Contains(ref, "@sha256:") {
		return fmt.Errorf("push %s:%s: the registry returned %q, not a digest reference", base, o.Env, ref)
	}
	st.ImageRef = ref
	st.Report.ImageRef = ref
	st.Report.Published = true
	return nil
}
