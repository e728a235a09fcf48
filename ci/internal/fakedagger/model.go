package fakedagger

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
)

// Container is what a container's call chain amounts to at one point of the
// chain. Tests read it through Exec, Service and Publish records; it is a
// snapshot and never changes after it is handed out.
type Container struct {
	Base         Base
	Env          map[string]string // plain environment variables
	Secrets      map[string]string // environment variable → secret name (withSecretVariable)
	Workdir      string
	User         string
	Entrypoint   []string
	DefaultArgs  []string
	Labels       map[string]string
	Files        map[string]string     // path → contents: withNewFile, known withFile sources, files written by earlier execs
	Directories  map[string]*Directory // path → directory copied in with withDirectory
	Mounts       map[string]Mount      // path → withMounted* mount
	Services     map[string]*Service   // alias → service bound with withServiceBinding
	ExposedPorts []int
	RegistryAuth []RegistryAuth
	Execs        [][]string // argv of the execs earlier in the chain, in order
	Recipe       string     // canonical call chain up to this point
	// Dirs are directories the chain created (withWorkdir, parents of written
	// files); DirExists also counts the image's own and copied or mounted ones.
	Dirs map[string]bool

	imageDirs []string     // the base image's directories (none for scratch)
	last      *execOutcome // the latest exec, once it has run
}

// Base is where a container's filesystem starts: an image (From), a
// Dockerfile build (Build), or neither (scratch).
type Base struct {
	From  string
	Build *Build
}

// Build is a Directory.dockerBuild call.
type Build struct {
	Context    *Directory
	Dockerfile string
	BuildArgs  map[string]string
	Target     string
	Secrets    []string // secret names
	Recipe     string
}

// Directory is a directory's recipe in readable form.
type Directory struct {
	HostPath string   // host.directory path, "" for an empty or derived directory
	Include  []string // host.directory / filter include patterns
	Exclude  []string // host.directory / filter exclude patterns
	Sub      string   // Directory.directory / Container.directory path
	Files    map[string]string
	Without  []string // removed paths
	Recipe   string
}

// File is a file's recipe in readable form; Contents is set when the fake
// knows them (withNewFile, an exec's ExecResult.Files, or a host file).
type File struct {
	Path     string
	HostPath string
	Contents string
	Known    bool
}

// Mount is one withMounted* call.
type Mount struct {
	Kind      string // directory, file, cache, secret, temp
	Directory *Directory
	File      *File
	CacheKey  string
	Secret    string // secret name
}

// Service is a Container.asService call.
type Service struct {
	Container *Container
	Args      []string
	Hostname  string
	Recipe    string
}

// RegistryAuth is one withRegistryAuth call; the secret is kept by name.
type RegistryAuth struct {
	Address  string
	Username string
	Secret   string
}

type secretObj struct{ name string }
type cacheVolumeObj struct{ key string }
type hostObj struct{}

func (c *Container) clone() *Container {
	n := *c
	n.Env = maps.Clone(c.Env)
	n.Secrets = maps.Clone(c.Secrets)
	n.Labels = maps.Clone(c.Labels)
	n.Files = maps.Clone(c.Files)
	n.Directories = maps.Clone(c.Directories)
	n.Mounts = maps.Clone(c.Mounts)
	n.Services = maps.Clone(c.Services)
	n.ExposedPorts = slices.Clone(c.ExposedPorts)
	n.RegistryAuth = slices.Clone(c.RegistryAuth)
	n.Execs = slices.Clone(c.Execs)
	n.Dirs = maps.Clone(c.Dirs)
	return &n
}

func newContainer() *Container {
	return &Container{
		Env: map[string]string{}, Secrets: map[string]string{}, Labels: map[string]string{},
		Files: map[string]string{}, Directories: map[string]*Directory{}, Mounts: map[string]Mount{},
		Services: map[string]*Service{}, Workdir: "/", Dirs: map[string]bool{},
	}
}

func (d *Directory) clone() *Directory {
	n := *d
	n.Files = maps.Clone(d.Files)
	n.Without = slices.Clone(d.Without)
	n.Include = slices.Clone(d.Include)
	n.Exclude = slices.Clone(d.Exclude)
	return &n
}

func (c *Container) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(c.Workdir, p)
}

// fold evaluates a chain. With run set it performs what the chain needs
// (execs, builds) the way the engine does when a leaf asks for a result;
// without it, it only works out the state (for IDs and bookkeeping).
func (s *Server) fold(ctx context.Context, chain []call, run bool) (any, error) {
	var cur any
	for i, c := range chain {
		recipe := recipeString(chain[:i+1])
		var err error
		cur, err = s.step(ctx, cur, c, chain[:i+1], recipe, run)
		if err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func (s *Server) foldRef(ctx context.Context, v value, run bool) (any, error) {
	if v.Kind != "ref" {
		return nil, nil
	}
	return s.fold(ctx, v.R.Chain, run)
}

func (s *Server) step(ctx context.Context, cur any, c call, chain []call, recipe string, run bool) (any, error) {
	argObj := func(name string) (any, error) {
		v, _ := c.arg(name)
		return s.foldRef(ctx, v, run)
	}
	switch o := cur.(type) {
	case nil: // Query
		switch c.Field {
		case "host":
			return hostObj{}, nil
		case "container":
			n := newContainer()
			n.Recipe = recipe
			return n, nil
		case "directory":
			return &Directory{Files: map[string]string{}, Recipe: recipe}, nil
		case "setSecret":
			return &secretObj{name: c.str("name")}, nil
		case "cacheVolume":
			return &cacheVolumeObj{key: c.str("key")}, nil
		}
	case hostObj:
		switch c.Field {
		case "directory":
			return &Directory{HostPath: c.str("path"), Include: c.strs("include"), Exclude: c.strs("exclude"), Files: map[string]string{}, Recipe: recipe}, nil
		case "file":
			return &File{Path: path.Base(c.str("path")), HostPath: c.str("path")}, nil
		}
	case *Directory:
		return s.directoryStep(o, c, recipe, run, argObj)
	case *File:
		return nil, fmt.Errorf("fakedagger: File.%s is not modelled", c.Field)
	case *Service:
		if c.Field == "withHostname" {
			n := *o
			n.Hostname = c.str("hostname")
			n.Recipe = recipe
			return &n, nil
		}
	case *Container:
		return s.containerStep(ctx, o, c, chain, recipe, run, argObj)
	}
	return nil, fmt.Errorf("fakedagger: %T.%s is not modelled", cur, c.Field)
}

func (s *Server) directoryStep(d *Directory, c call, recipe string, run bool, argObj func(string) (any, error)) (any, error) {
	switch c.Field {
	case "dockerBuild":
		b := &Build{Context: d, Dockerfile: c.str("dockerfile"), BuildArgs: map[string]string{}, Target: c.str("target"), Recipe: recipe}
		if b.Dockerfile == "" {
			b.Dockerfile = "Dockerfile"
		}
		v, _ := c.arg("buildArgs")
		for _, e := range v.L {
			o := call{Args: e.O}
			b.BuildArgs[o.str("name")] = o.str("value")
		}
		v, _ = c.arg("secrets")
		for _, e := range v.L {
			b.Secrets = append(b.Secrets, call{Args: e.R.Chain[0].Args}.str("name"))
		}
		if run {
			s.recordBuild(b)
		}
		n := newContainer()
		n.Base = Base{Build: b}
		n.Recipe = recipe
		n.imageDirs = s.allImageDirs()
		return n, nil
	case "file":
		f := &File{Path: path.Base(c.str("path"))}
		if contents, ok := d.Files[path.Clean("/"+c.str("path"))]; ok {
			f.Contents, f.Known = contents, true
		} else if d.HostPath != "" {
			f.HostPath = path.Join(d.HostPath, d.Sub, c.str("path"))
		}
		return f, nil
	}
	n := d.clone()
	n.Recipe = recipe
	switch c.Field {
	case "directory":
		n.Sub = path.Join(n.Sub, c.str("path"))
	case "filter":
		n.Include = append(n.Include, c.strs("include")...)
		n.Exclude = append(n.Exclude, c.strs("exclude")...)
	case "withNewFile":
		n.Files[path.Clean("/"+c.str("path"))] = c.str("contents")
	case "withFile":
		src, err := argObj("source")
		if err != nil {
			return nil, err
		}
		if f := src.(*File); f.Known {
			n.Files[path.Clean("/"+c.str("path"))] = f.Contents
		}
	case "withDirectory":
		src, err := argObj("source")
		if err != nil {
			return nil, err
		}
		for p, contents := range src.(*Directory).Files {
			n.Files[path.Join("/", c.str("path"), p)] = contents
		}
	case "withoutDirectory", "withoutFile":
		n.Without = append(n.Without, c.str("path"))
	default:
		return nil, fmt.Errorf("fakedagger: Directory.%s is not modelled", c.Field)
	}
	return n, nil
}

func (s *Server) containerStep(ctx context.Context, o *Container, c call, chain []call, recipe string, run bool, argObj func(string) (any, error)) (any, error) {
	switch c.Field {
	case "file":
		p := o.abs(c.str("path"))
		contents, ok := o.Files[p]
		return &File{Path: path.Base(p), Contents: contents, Known: ok}, nil
	case "directory":
		p := o.abs(c.str("path"))
		d := &Directory{Sub: p, Files: map[string]string{}, Recipe: recipe}
		for fp, contents := range o.Files {
			if rel, ok := under(fp, p); ok {
				d.Files[rel] = contents
			}
		}
		return d, nil
	case "asService":
		return &Service{Container: o, Args: c.strs("args"), Hostname: "svc-" + digestHex(recipe)[:12], Recipe: recipe}, nil
	}
	n := o.clone()
	n.Recipe = recipe
	switch c.Field {
	case "from":
		n = newContainer()
		n.Recipe = recipe
		n.Base = Base{From: c.str("address")}
		n.imageDirs = s.allImageDirs()
	case "withEnvVariable":
		v := c.str("value")
		if c.bool("expand") {
			v = os.Expand(v, func(k string) string { return o.Env[k] })
		}
		n.Env[c.str("name")] = v
	case "withoutEnvVariable":
		delete(n.Env, c.str("name"))
	case "withSecretVariable":
		sec, err := argObj("secret")
		if err != nil {
			return nil, err
		}
		n.Secrets[c.str("name")] = sec.(*secretObj).name
	case "withoutSecretVariable":
		delete(n.Secrets, c.str("name"))
	case "withWorkdir":
		// The engine creates a missing workdir when an exec runs in it.
		n.Workdir = o.abs(c.str("path"))
		n.addDir(n.Workdir)
	case "withUser":
		n.User = c.str("name")
	case "withEntrypoint":
		n.Entrypoint = c.strs("args")
	case "withDefaultArgs":
		n.DefaultArgs = c.strs("args")
	case "withLabel":
		n.Labels[c.str("name")] = c.str("value")
	case "withExposedPort":
		n.ExposedPorts = append(n.ExposedPorts, c.int("port"))
	case "withServiceBinding":
		svc, err := argObj("service")
		if err != nil {
			return nil, err
		}
		n.Services[c.str("alias")] = svc.(*Service)
	case "withRegistryAuth":
		sec, err := argObj("secret")
		if err != nil {
			return nil, err
		}
		n.RegistryAuth = append(n.RegistryAuth, RegistryAuth{Address: c.str("address"), Username: c.str("username"), Secret: sec.(*secretObj).name})
	case "withoutRegistryAuth":
		n.RegistryAuth = slices.DeleteFunc(n.RegistryAuth, func(a RegistryAuth) bool { return a.Address == c.str("address") })
	case "withNewFile":
		n.Files[o.abs(c.str("path"))] = c.str("contents")
		n.addDir(path.Dir(o.abs(c.str("path"))))
	case "withFile":
		src, err := argObj("source")
		if err != nil {
			return nil, err
		}
		if f := src.(*File); f.Known {
			n.Files[o.abs(c.str("path"))] = f.Contents
		}
		n.addDir(path.Dir(o.abs(c.str("path"))))
	case "withDirectory", "withMountedDirectory", "withMountedFile", "withMountedCache", "withMountedSecret", "withMountedTemp":
		return s.mountStep(n, c, argObj)
	case "withoutFile", "withoutDirectory":
		p := o.abs(c.str("path"))
		for fp := range n.Files {
			if _, ok := under(fp, p); ok || fp == p {
				delete(n.Files, fp)
			}
		}
		delete(n.Directories, p)
	case "withExec":
		ex := Exec{
			Container: o, Args: c.strs("args"), Expect: "SUCCESS", Stdin: c.str("stdin"),
			RedirectStdout: c.str("redirectStdout"), RedirectStderr: c.str("redirectStderr"),
			UseEntrypoint: c.bool("useEntrypoint"), Recipe: recipe, Key: digestHex(recipe),
		}
		if v, ok := c.arg("expect"); ok {
			ex.Expect = v.S
		}
		if c.bool("expand") {
			for i, a := range ex.Args {
				ex.Args[i] = os.Expand(a, func(k string) string { return o.Env[k] })
			}
		}
		n.Execs = append(n.Execs, ex.Args)
		n.last = nil
		if run {
			out, err := s.runExec(ctx, ex)
			if err != nil {
				return nil, err
			}
			n.last = out
			for p, contents := range out.res.Files {
				n.Files[n.abs(p)] = contents
			}
			if ex.RedirectStdout != "" {
				n.Files[n.abs(ex.RedirectStdout)] = out.res.Stdout
			}
			if ex.RedirectStderr != "" {
				n.Files[n.abs(ex.RedirectStderr)] = out.res.Stderr
			}
		}
	default:
		return nil, fmt.Errorf("fakedagger: Container.%s is not modelled", c.Field)
	}
	return n, nil
}

func (s *Server) mountStep(n *Container, c call, argObj func(string) (any, error)) (any, error) {
	p := n.abs(c.str("path"))
	var src any
	var err error
	switch c.Field {
	case "withMountedCache":
		src, err = argObj("cache")
	case "withMountedTemp":
	default:
		src, err = argObj("source")
	}
	if err != nil {
		return nil, err
	}
	switch c.Field {
	case "withDirectory":
		d := src.(*Directory).clone()
		d.Include = append(d.Include, c.strs("include")...)
		d.Exclude = append(d.Exclude, c.strs("exclude")...)
		n.Directories[p] = d
		for fp, contents := range d.Files {
			n.Files[path.Join(p, fp)] = contents
		}
	case "withMountedDirectory":
		n.Mounts[p] = Mount{Kind: "directory", Directory: src.(*Directory)}
	case "withMountedFile":
		n.Mounts[p] = Mount{Kind: "file", File: src.(*File)}
	case "withMountedCache":
		n.Mounts[p] = Mount{Kind: "cache", CacheKey: src.(*cacheVolumeObj).key}
	case "withMountedSecret":
		n.Mounts[p] = Mount{Kind: "secret", Secret: src.(*secretObj).name}
	case "withMountedTemp":
		n.Mounts[p] = Mount{Kind: "temp"}
	}
	return n, nil
}

// under reports whether p lies below dir, and the path relative to it.
func under(p, dir string) (string, bool) {
	if dir == "/" {
		return p, p != "/"
	}
	if len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/' {
		return p[len(dir):], true
	}
	return "", false
}
