package config

import "dagger.io/dagger"

// Secret is a secret setting: a plaintext read from the environment (mage), or a
// Dagger secret the module was handed (its plaintext never passes through this
// process). It prints as a mask, so an accidental %v or %+v of a Config shows nothing.
type Secret struct {
	plain string
	ref   *dagger.Secret
}

// Plaintext is a secret read from this process's environment; "" is unset.
func Plaintext(v string) Secret { return Secret{plain: v} }

// FromDagger is a secret the Dagger module was given; nil is unset.
func FromDagger(s *dagger.Secret) Secret { return Secret{ref: s} }

// Set says whether the secret has a value.
func (s Secret) Set() bool { return s.plain != "" || s.ref != nil }

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return `"[redacted]"` }

// Plaintext is the value when it was read in this process (mage), for this process's
// own API client and for masking output; false for a module's secret or an unset one.
func (s Secret) Plaintext() (string, bool) { return s.plain, s.plain != "" }

// Dagger is the secret as the engine knows it, nil when unset. A plaintext secret must
// have gone through Config.Bind first.
func (s Secret) Dagger() *dagger.Secret {
	if s.plain != "" && s.ref == nil {
		panic("config: a plaintext secret used before Config.Bind")
	}
	return s.ref
}

// secrets are the secret settings with the names the engine gets them under.
func (c *Config) secrets() []struct {
	name string
	s    *Secret
} {
	return []struct {
		name string
		s    *Secret
	}{
		{"registry-password", &c.RegistryPassword},
		{"prefect-api-url", &c.PrefectAPIURL},
		{"prefect-api-key", &c.PrefectAPIKey},
		{"aws-access-key-id", &c.AWSAccessKeyID},
		{"aws-secret-access-key", &c.AWSSecretAccessKey},
	}
}

// Bind turns every plaintext secret into a Dagger secret of client's session, once per
// run. client.SetSecret sends nothing by itself; the plaintext reaches the engine only
// when a step uses the secret.
func (c Config) Bind(client *dagger.Client) Config {
	for _, s := range c.secrets() {
		if s.s.plain != "" && s.s.ref == nil {
			s.s.ref = client.SetSecret(s.name, s.s.plain)
		}
	}
	return c
}

// Plaintexts lists the secret values known in this process, for masking output that
// the engine echoes back.
func (c Config) Plaintexts() []string {
	var out []string
	for _, s := range c.secrets() {
		if v, ok := s.s.Plaintext(); ok {
			out = append(out, v)
		}
	}
	return out
}
