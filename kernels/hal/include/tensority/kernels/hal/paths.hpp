#pragma once
// Where the suite keeps what it learns about the machine. Tuned values and compiled GPU
// programs never go into the user's config: state (autotuned batch sizes) and cache
// (compiled OpenCL binaries, safe to delete) live in the XDG directories.
#include <filesystem>

namespace tensority::kernels::hal {

// $TENSORITY_STATE_DIR, else $XDG_STATE_HOME/tensority, else ~/.local/state/tensority.
std::filesystem::path state_directory();

// $TENSORITY_CACHE_DIR, else $XDG_CACHE_HOME/tensority, else ~/.cache/tensority.
std::filesystem::path cache_directory();

// Data the user keeps (chains, wallets): $TENSORITY_DATA_DIR, else $XDG_DATA_HOME/tensority,
// else ~/.local/share/tensority.
std::filesystem::path data_directory();

}  // namespace tensority::kernels::hal
