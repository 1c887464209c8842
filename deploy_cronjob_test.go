package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
	"go.yaml.in/yaml/v3"
)

// cronJob is the part of deploy/kubernetes/cronjob.yaml that the tool's
// behaviour depends on.
type cronJob struct {
	Kind string
	Spec struct {
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec struct {
				Template struct {
					Spec struct {
						TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
						Containers                    []struct {
							Args []string
							Env  []struct {
								Name      string
								Value     string
								ValueFrom map[string]any `yaml:"valueFrom"`
							}
							VolumeMounts []struct {
								Name      string
								MountPath string `yaml:"mountPath"`
								ReadOnly  bool   `yaml:"readOnly"`
							} `yaml:"volumeMounts"`
						}
						Volumes []struct {
							Name                  string
							PersistentVolumeClaim map[string]any `yaml:"persistentVolumeClaim"`
							Secret                *struct {
								SecretName  string `yaml:"secretName"`
								DefaultMode int    `yaml:"defaultMode"`
							}
						}
					}
				}
			}
		} `yaml:"jobTemplate"`
	}
}

// readCronJob parses the manifest as YAML, as kubectl would, and returns its CronJob.
func readCronJob(t *testing.T) cronJob {
	t.Helper()
	f, err := os.Open("deploy/kubernetes/cronjob.yaml")
	e2eOK(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	for {
		var doc cronJob
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("cronjob.yaml: no CronJob read: %v", err)
		}
		if doc.Kind == "CronJob" {
			return doc
		}
	}
}

// TestCronJob_commandLineRunsOnItsVolume checks that the CronJob's command
// line is one the binary accepts, that its files land on the volume mounted
// at the image's working directory, and that its settings fit the tool:
// no overlap, a grace period longer than one call in flight.
func TestCronJob_commandLineRunsOnItsVolume(t *testing.T) {
	t.Parallel()
	cj := readCronJob(t)
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if cj.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q: two runs at once would share the account's limit", cj.Spec.ConcurrencyPolicy)
	}
	for _, want := range []string{"--resume", "--skip-unchanged", "--log-format=json"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args lack %s: %q", want, c.Args)
		}
	}

	// Kubernetes expands $(NAME) from the container's env; the downward API
	// and Secrets stand in as fixed values here.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			env[e.Name] = "plivo-bulk-29000000"
		}
	}
	// The token is a file on a read-only Secret volume that no other user can read.
	tokenFile := env["PLIVO_AUTH_TOKEN_FILE"]
	if _, ok := env["PLIVO_AUTH_TOKEN"]; ok || tokenFile == "" {
		t.Error("the container's env sets PLIVO_AUTH_TOKEN, or no PLIVO_AUTH_TOKEN_FILE")
	}
	secretMount := false
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			secretMount = secretMount || v.Name == m.Name && v.Secret != nil && m.ReadOnly &&
				v.Secret.DefaultMode&0o007 == 0 && filepath.Dir(tokenFile) == m.MountPath
		}
	}
	if !secretMount {
		t.Errorf("PLIVO_AUTH_TOKEN_FILE %s is not on a read-only Secret volume whose files others cannot read", tokenFile)
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	root := t.TempDir()
	var args []string
	timeout := client.DefaultTimeout
	for _, a := range c.Args {
		a = ref.ReplaceAllStringFunc(a, func(m string) string {
			name := m[2 : len(m)-1]
			v, ok := env[name]
			if !ok {
				t.Errorf("%s names %s, which the container's env does not define: Kubernetes would leave it as is", a, name)
			}
			return v
		})
		for _, m := range c.VolumeMounts {
			if flag, path, ok := strings.Cut(a, "="+m.MountPath+"/"); ok {
				a = flag + "=" + filepath.Join(root, m.MountPath, path)
				break
			}
		}
		if v, ok := strings.CutPrefix(a, "--timeout="); ok {
			var err error
			if timeout, err = time.ParseDuration(v); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, a)
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= timeout {
		t.Errorf("terminationGracePeriodSeconds %v: the calls in flight at SIGTERM may take --timeout %v, and then the report is written", grace, timeout)
	}

	// The image's working directory, where relative paths land, must be the
	// volume that outlives the pod, or --resume finds nothing.
	dockerfile, err := os.ReadFile("Dockerfile")
	e2eOK(t, err)
	workdir := regexp.MustCompile(`(?m)^WORKDIR (\S+)`).FindAllStringSubmatch(string(dockerfile), -1)
	data := workdir[len(workdir)-1][1]
	onClaim := map[string]bool{}
	for _, v := range pod.Volumes {
		onClaim[v.Name] = v.PersistentVolumeClaim != nil
	}
	found := false
	for _, m := range c.VolumeMounts {
		found = found || m.MountPath == data && onClaim[m.Name]
		e2eOK(t, os.MkdirAll(filepath.Join(root, m.MountPath), 0o755))
	}
	if !found {
		t.Fatalf("the image's WORKDIR %s is not a PersistentVolumeClaim's mount", data)
	}
	input := "number,app_id,alias\n+1 202 555 0101,20372631212782780,front desk\n12025550102,20372631212782780,\n"
	e2eOK(t, os.WriteFile(filepath.Join(root, "config", "numbers.csv"), []byte(input), 0o644))

	fx, _ := e2eStartFixture(t, sandbox.Config{}, e2eNumbers("12025550101", "12025550102")...)
	// As `kubectl create secret --from-file` keeps it: with echo's newline.
	e2eOK(t, os.WriteFile(filepath.Join(root, tokenFile), []byte(fx.token+"\n"), 0o400))
	r := e2eNewRunner(t, fx).without("PLIVO_AUTH_TOKEN").with("PLIVO_AUTH_TOKEN_FILE", filepath.Join(root, tokenFile))
	r.dir = filepath.Join(root, data) // the working directory: relative paths land there
	// The whole command line, twice: the second run is a retry of the same
	// Job, and resumes the report the first left on the volume.
	for i := range 2 {
		e2eExit(t, "the CronJob's command line", r.run(args...), 0)
		if n := fx.postCount(t); n != 2 {
			t.Fatalf("run %d: %d updates sent in all, want 2 (none again on the resume)", i+1, n)
		}
	}
	for _, name := range []string{"report.csv", "undo.csv", "summary.json"} {
		if _, err := os.Stat(filepath.Join(root, data, "plivo-bulk-29000000-"+name)); err != nil {
			t.Errorf("not on the volume: %v", err)
		}
	}
}
