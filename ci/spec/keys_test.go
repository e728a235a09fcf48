package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/acme-data/prefect-flows/ci/internal/suggest"
)

func TestSuggest(t *testing.T) {
	cases := map[string]string{
		"shedule": "schedule", "tag": "tags", "work-pool": "work_pool", "workpool": "work_pool", "ib_block": "ib-block",
		"Name": "name", "entrypiont": "entrypoint", "paramters": "parameters", "infra-overrides": "infra_overrides",
		"colour": "", "x": "", "environment": "",
	}
	for in, want := range cases {
		assert.Equal(t, want, suggest.Closest(in, deployKeys), in)
	}
	assert.Equal(t, "anchor-date", suggest.Closest("anchor_date", scheduleKeys))
	assert.Equal(t, "deployments", suggest.Closest("deployment", topKeys))
	assert.Equal(t, "work_queue_name", suggest.Closest("work_queue_nam", workPoolKeys))
}
