package deploycli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"sort"

	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// ecsFlags are the ECS settings of a Prefect 3 file (the pipeline passes ECS_* and
// AWS_REGION): job variables of every deployment in a pool of type ecs, under the file's
// own (desired.ECS says why job variables). apply writes them; plan, read-back and prune
// compare them, so they take the same flags.
type ecsFlags struct {
	cluster, vpcID, executionRole, taskRole, cpu, memory, region string
	// credentialsBlock names the aws-credentials block document with the AWS keys: the
	// aws_credentials job variable names its fields with block placeholders.
	credentialsBlock string
}

func (e *ecsFlags) register(fs *flag.FlagSet) {
	const p3 = "Prefect 3 file, pools of type ecs: "
	fs.StringVar(&e.cluster, "ecs-cluster", "", p3+"the job variable cluster (ECS_CLUSTER)")
	fs.StringVar(&e.vpcID, "ecs-vpc-id", "", p3+"the job variable vpc_id (ECS_VPC_ID)")
	fs.StringVar(&e.executionRole, "ecs-execution-role-arn", "", p3+"the job variable execution_role_arn (ECS_EXECUTION_ROLE_ARN)")
	fs.StringVar(&e.taskRole, "ecs-task-role-arn", "", p3+"the job variable task_role_arn (ECS_TASK_ROLE_ARN)")
	fs.StringVar(&e.cpu, "ecs-cpu", "", p3+"the job variable cpu, CPU units (ECS_CPU)")
	fs.StringVar(&e.memory, "ecs-memory", "", p3+"the job variable memory, MiB (ECS_MEMORY)")
	fs.StringVar(&e.region, "aws-region", "", p3+"AWS_REGION: region_name of the job variable aws_credentials (without AWS keys, not sent into a pool whose template has credentials)")
	fs.StringVar(&e.credentialsBlock, "aws-credentials-block", "", p3+"NAME of the "+desired.CredentialsBlockType+" block holding the AWS keys (saved beforehand): the job variable aws_credentials names its fields with Prefect's block placeholders, which the worker resolves, so the keys never appear in job variables")
}

func (e ecsFlags) given() bool { return e != ecsFlags{} }

// settings checks the flags and gives the settings without the block id.
func (e ecsFlags) settings() (desired.ECS, error) {
	cpu, ok := desired.ParseSize(e.cpu)
	if !ok {
		return desired.ECS{}, fmt.Errorf("--ecs-cpu %q: want a positive whole number of CPU units, e.g. 1024", e.cpu)
	}
	mem, ok := desired.ParseSize(e.memory)
	if !ok {
		return desired.ECS{}, fmt.Errorf("--ecs-memory %q: want a positive whole number of MiB, e.g. 2048", e.memory)
	}
	return desired.ECS{Cluster: e.cluster, VPCID: e.vpcID, ExecutionRoleARN: e.executionRole, TaskRoleARN: e.taskRole,
		CPU: cpu, Memory: mem, Region: e.region}, nil
}

// poolHasCredentials says the pool's base job template gives aws_credentials a default
// (a block the pool's owner chose, e.g. in the UI).
func poolHasCredentials(p *prefectapi.WorkPool) bool {
	vars, err := p.TemplateVariables()
	if err != nil {
		return false
	}
	var v struct {
		Default json.RawMessage `json:"default"`
	}
	if json.Unmarshal(vars["aws_credentials"], &v) != nil {
		return false
	}
	return len(v.Default) > 0 && string(v.Default) != "null"
}

// blockReader is what poolJobVariables reads; *prefectapi.Client implements it.
type blockReader interface {
	ReadBlockDocument(ctx context.Context, typeSlug, name string) (*prefectapi.BlockDocument, error)
}

// poolJobVariables are the job variables the ECS settings add, by pool name, for the
// pools of type ecs that f names (nil without settings). pools are those pools as the
// server holds them (nil: it has none of that name, yet); a pool of another type or one
// that does not exist yet gets none, with one note line each on notes. The credentials
// block must exist: the worker reads it.
func poolJobVariables(ctx context.Context, api blockReader, f *spec.File, pools map[string]*prefectapi.WorkPool, e ecsFlags, notes func(string)) (map[string]map[string]any, error) {
	s, err := e.settings()
	if err != nil {
		return nil, err
	}
	if e.credentialsBlock != "" {
		// The worker reads it when a flow runs: a missing one would fail every run.
		_, err := api.ReadBlockDocument(ctx, desired.CredentialsBlockType, e.credentialsBlock)
		if errors.Is(err, prefectapi.ErrNotFound) {
			return nil, fmt.Errorf("--aws-credentials-block %s: the API has no block %s/%s: save it first (the pipeline's register step saves it from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", e.credentialsBlock, desired.CredentialsBlockType, e.credentialsBlock)
		}
		if err != nil {
			return nil, fmt.Errorf("--aws-credentials-block %s: read block %s/%s: %w", e.credentialsBlock, desired.CredentialsBlockType, e.credentialsBlock, err)
		}
		s.CredentialsBlock = e.credentialsBlock
	}
	vars := s.JobVariables()
	names := map[string]bool{}
	for _, d := range f.Deployments {
		if d.WorkPool != nil && d.WorkPool.Name != "" {
			names[d.WorkPool.Name] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := map[string]map[string]any{}
	for _, name := range sorted {
		p := pools[name]
		switch {
		case p == nil:
			notes(fmt.Sprintf("work pool %s does not exist: its deployments get no ECS settings until it does (of type %s)", name, desired.ECSPoolType))
			continue
		case p.Type != desired.ECSPoolType:
			notes(fmt.Sprintf("work pool %s is of type %s: the ECS settings are only for pools of type %s", name, p.Type, desired.ECSPoolType))
			continue
		}
		pv := vars
		if _, has := pv["aws_credentials"]; has && s.CredentialsBlock == "" && poolHasCredentials(p) {
			// A region alone would replace the credentials the pool's owner set.
			pv = maps.Clone(vars)
			delete(pv, "aws_credentials")
			notes(fmt.Sprintf("work pool %s has AWS credentials in its template: --aws-region is not sent without AWS keys, the pool's credentials (and their region) apply", name))
		}
		if len(pv) > 0 {
			out[name] = pv
		}
	}
	return out, nil
}
