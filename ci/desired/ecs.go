package desired

// ECS settings on Prefect 3. On Prefect 2 the pipeline saves them into the ecs-task/<env>
// block (infrastructure/ecs-task-<env>.py). Prefect 3 has no infrastructure blocks, so
// they become job variables of each deployment in a pool of type ECSPoolType, merged
// UNDER the file's own work_pool.job_variables (the file wins per key). Job variables,
// not the pool's base job template: the pipeline never overwrites an existing pool's
// template (pools are often shared by teams and environments), dev and prod differ,
// and job variables show in the plan, the read-back and the drift check, and the server
// validates them against the pool's template when the deployment is written.
//
// The AWS keys never become job variables in plain text (anyone with read access to the
// API, the UI and the plan would see them): they live in an aws-credentials block
// document (prefect-aws's AwsCredentials, the secret key a SecretStr field), and the
// job variable aws_credentials is a block document reference to it,
// {"$ref": {"block_document_id": "<id>"}}, which the worker resolves when it builds the
// job (prefect/workers/base.py BaseJobConfiguration.from_template_and_values, through
// prefect/utilities/templating.py resolve_block_document_references).

import "strconv"

// ECSPoolType is the work pool type (prefect-aws's ECS worker) the ECS settings are for.
const ECSPoolType = "ecs"

// ECS are the pipeline's ECS settings (ECS_*, AWS_REGION) for a Prefect 3 ecs pool;
// an empty field is not set and adds nothing.
type ECS struct {
	Cluster, VPCID, ExecutionRoleARN, TaskRoleARN string
	// CPU and Memory are ECS task sizes (CPU units, MiB); 0 = not set.
	CPU, Memory int64
	// Region is AWS_REGION: in the credentials block when there is one, else the only
	// member of an inline aws_credentials (nothing secret in it).
	Region string
	// CredentialsBlockID is the id of the aws-credentials block document that holds the
	// AWS keys (and the region); "" when no keys are given: the worker's own AWS
	// credentials (its IAM role, boto's default chain) then apply.
	CredentialsBlockID string
}

// IsZero says no setting is given.
func (e ECS) IsZero() bool { return e == ECS{} }

// JobVariables are the settings as job variables of the ECS worker's base job template
// (variables cluster, vpc_id, execution_role_arn, task_role_arn, cpu, memory,
// aws_credentials); nil when none is set.
func (e ECS) JobVariables() map[string]any {
	jv := map[string]any{}
	for _, s := range []struct{ key, value string }{
		{"cluster", e.Cluster}, {"vpc_id", e.VPCID},
		{"execution_role_arn", e.ExecutionRoleARN}, {"task_role_arn", e.TaskRoleARN},
	} {
		if s.value != "" {
			jv[s.key] = s.value
		}
	}
	if e.CPU > 0 {
		jv["cpu"] = e.CPU
	}
	if e.Memory > 0 {
		jv["memory"] = e.Memory
	}
	switch {
	case e.CredentialsBlockID != "":
		jv["aws_credentials"] = BlockRef(e.CredentialsBlockID)
	case e.Region != "":
		jv["aws_credentials"] = map[string]any{"region_name": e.Region}
	}
	if len(jv) == 0 {
		return nil
	}
	return jv
}

// BlockRef is a block document reference as a job variable value: Prefect 3's worker
// replaces it with the document's data (secrets included) when it builds the job.
func BlockRef(id string) map[string]any {
	return map[string]any{"$ref": map[string]any{"block_document_id": id}}
}

// ParseSize reads ECS_CPU or ECS_MEMORY: "" is 0 (not set), else a positive whole number.
func ParseSize(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// MergeJobVariables is the job_variables a Prefect 3 writer sends and the live plan
// compares: pool (what the pipeline adds for the deployment's pool, e.g. ECS.JobVariables)
// under file (work_pool.job_variables; the file wins per key, a nested mapping such as
// env is replaced whole, as the defaults merge does), then image as "image" when not
// "". Neither input is changed.
func MergeJobVariables(pool, file map[string]any, image string) map[string]any {
	jv := make(map[string]any, len(pool)+len(file)+1)
	for k, v := range pool {
		jv[k] = v
	}
	for k, v := range file {
		jv[k] = v
	}
	if image != "" {
		jv["image"] = image
	}
	return jv
}
