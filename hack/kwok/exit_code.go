// Added to KWOK's pkg/utils/exec at build time by hack/build-binaries.sh (this file is mbox's own).
//
// KWOK v0.8.0 wraps the *exec.ExitError of a finished command in fmt.Errorf, and the streaming server it
// uses (k8s.io/cri-streaming remotecommand) only recognises an unwrapped k8s.io/utils/exec.ExitError. The
// result is that every non-zero exit reaches clients as an InternalError instead of a NonZeroExitCode
// status with the exit code, as a real kubelet sends. This restores the kubelet's behaviour.

package exec

import (
	"errors"
	osexec "os/exec"

	utilexec "k8s.io/utils/exec"
)

func withExitCode(err error) error {
	var ee *osexec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return utilexec.CodeExitError{Err: err, Code: ee.ExitCode()}
	}
	return err
}
