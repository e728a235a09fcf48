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
	return "publish: push <env>-<sha>; its digest becomes PREFECT_IMAGE"
}

func (publishStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	if o.Registry == "" {
		st.ImageRef = o.unpublishedRef()
		st.Report.ImageRef = st.ImageRef
		return Skip("REGISTRY is not set: the image was NOT published; PREFECT_IMAGE=%s names a local image only", st.ImageRef)
	}
	ctr, base := publishable(st)
	ref, err := ctr.Publish(ctx, base+":"+o.Env+"-"+st.GitSHA)
	if err != nil {
		return fmt.Errorf("push %s:%s-%s: %w", base, o.Env, st.GitSHA, err)
	}
	fmt.Fprintf(st.out, "    pushed %s\n", ref)
	// The engine answers with <address>@sha256:...; ECS must run exactly that digest, not a
	// tag that the next push moves.
	if !strings.Contains(ref, "@sha256:") {
		return fmt.Errorf("push %s:%s-%s: the registry returned %q, not a digest reference", base, o.Env, st.GitSHA, ref)
	}
	st.Published = append(st.Published, ref)
	st.ImageRef = ref
	st.Report.ImageRef = ref
	st.Report.Published = true
	return nil
}

// publishable is the image with the registry's credentials, and the address it goes to
// without a tag.
func publishable(st *State) (*dagger.Container, string) {
	o := st.Opts
	ctr := st.Image
	if o.RegistryPassword.Set() {
		ctr = ctr.WithRegistryAuth(o.Registry, o.RegistryUsername, o.RegistryPassword.Dagger())
	}
	return ctr, o.publishedRepo()
}

// unpublishedRef is the image's name when it is not published (no REGISTRY).
func (o *Options) unpublishedRef() string { return o.Repository() + ":" + o.Env }

// publishedRepo is the address the image is pushed to, without a tag.
func (o *Options) publishedRepo() string {
	return strings.TrimSuffix(o.Registry, "/") + "/" + strings.TrimPrefix(o.Repository(), "/")
}

type promoteStep struct{}

func (promoteStep) String() string {
	return "promote: move the <env> tag to the image just deployed"
}

// Run pushes the published image once more under <env>. It comes after deploy and
// verify and runs only when every step before it succeeded, so :<env> always names an
// image that deployed cleanly; an image-only run (nothing to deploy) promotes right
// after its check and publish.
func (promoteStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	if o.Registry == "" {
		return Skip("REGISTRY is not set: no tag to move")
	}
	if len(o.Only) > 0 {
		return Skip("DEPLOY_ONLY deployed part of the file: the %s tag stays where it was", o.Env)
	}
	ctr, base := publishable(st)
	ref, err := ctr.Publish(ctx, base+":"+o.Env)
	if err != nil {
		return fmt.Errorf("push %s:%s: %w", base, o.Env, err)
	}
	_, want, _ := strings.Cut(st.ImageRef, "@")
	if _, got, _ := strings.Cut(ref, "@"); got != want {
		return fmt.Errorf("push %s:%s: the registry returned %q, not the deployed %s", base, o.Env, ref, want)
	}
	fmt.Fprintf(st.out, "    pushed %s\n", ref)
	st.Published = append(st.Published, ref)
	return nil
}
