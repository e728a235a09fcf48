package fakedagger

import (
	"os"
	"path"
	"path/filepath"
	"slices"
)

// DefaultImageDirs are the directories every image the fake builds or pulls
// starts with: what a Debian-based image such as python:3.11-slim has, no more.
// A Dockerfile's WORKDIR or COPY targets are not read from the Dockerfile;
// tests declare them with WithImageDirs.
var DefaultImageDirs = []string{
	"/", "/bin", "/etc", "/home", "/root", "/tmp", "/usr", "/usr/bin", "/usr/local",
	"/usr/local/bin", "/usr/local/lib", "/var", "/var/tmp",
}

// WithImageDirs adds directories that exist in every image (from or
// dockerBuild) besides DefaultImageDirs, e.g. the Dockerfile's WORKDIR.
func WithImageDirs(dirs ...string) Option {
	return func(s *Server) {
		for _, d := range dirs {
			s.imageDirs = append(s.imageDirs, path.Clean("/"+d))
		}
	}
}

// DirExists says whether directory p (absolute, or relative to the workdir)
// exists in the container: a directory of its image, one the chain created
// (withDirectory, withMounted*, withWorkdir), the parent of a file it wrote
// (withNewFile, withFile, files an exec wrote), or one inside a directory
// copied or mounted from the host that exists on the host. Directories a
// command creates (mkdir) are not known, as the fake never runs commands.
func (c *Container) DirExists(p string) bool {
	p = c.abs(p)
	if p == "/" || c.Dirs[p] || slices.Contains(c.imageDirs, p) {
		return true
	}
	for fp := range c.Files {
		if _, ok := under(fp, p); ok {
			return true
		}
	}
	for dp, d := range c.Directories {
		if dirUnder(p, dp, d) {
			return true
		}
	}
	for mp, m := range c.Mounts {
		if mp == p || (m.Kind == "directory" && dirUnder(p, mp, m.Directory)) {
			return true
		}
		if _, ok := under(mp, p); ok {
			return true
		}
	}
	return false
}

// dirUnder says whether p is dir (where d sits in the container), a parent of
// it, or a directory inside d.
func dirUnder(p, dir string, d *Directory) bool {
	if p == dir {
		return true
	}
	if _, ok := under(dir, p); ok {
		return true
	}
	rel, ok := under(p, dir)
	if !ok {
		return false
	}
	for fp := range d.Files {
		if _, ok := under(fp, rel); ok {
			return true
		}
	}
	if d.HostPath == "" {
		return false
	}
	fi, err := os.Stat(filepath.Join(d.HostPath, filepath.FromSlash(path.Join(d.Sub, rel))))
	return err == nil && fi.IsDir()
}

// addDir records p and its parents as existing.
func (c *Container) addDir(p string) {
	for p = c.abs(p); p != "/"; p = path.Dir(p) {
		c.Dirs[p] = true
	}
}

func (s *Server) allImageDirs() []string {
	return append(slices.Clone(DefaultImageDirs), s.imageDirs...)
}
