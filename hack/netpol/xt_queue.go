package networkpolicy

// Copied into kube-network-policies' pkg/networkpolicy by hack/build-binaries.sh.

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// xtNFQueue sends a packet to NFQUEUE num through the x_tables NFQUEUE target (nftables' compat layer),
// in place of nftables' own queue expression: kernels built without CONFIG_NFT_QUEUE, as the local
// cluster's host is, refuse that one (ENOENT) and every rule of the table with it. The kernel's
// struct xt_NFQ_info_v3: queuenum, queues_total, flags (NFQ_FLAG_BYPASS lets packets pass while no
// agent listens); padded to 8 bytes.
func xtNFQueue(num int, failOpen bool) *expr.Target {
	info := make(xt.Unknown, 8)
	binary.NativeEndian.PutUint16(info[0:], uint16(num))
	binary.NativeEndian.PutUint16(info[2:], 1)
	if failOpen {
		binary.NativeEndian.PutUint16(info[4:], 1)
	}
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}
}
