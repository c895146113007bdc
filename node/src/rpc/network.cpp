// The node and its network: net-info in bytomd's shape.
#include "common.hpp"

namespace tensority::node::rpc {

json net_info(const Call& c) {
  const TipInfo t = c.chain().tip();
  const auto& params = c.chain().params();
  // bytomd's keys in its order, then ours (network: our name for it; version).
  return json{{"listening", false},
              {"syncing", false},
              {"mining", false},
              {"peer_count", 0},
              {"current_block", t.height},
              {"highest_block", t.height},
              {"network_id", params.wire_name},
              {"version_info", {{"version", c.ctx.version}, {"update", 0}, {"new_version", c.ctx.version}}},
              {"network", params.name},
              {"version", c.ctx.version}};
}

}  // namespace tensority::node::rpc
