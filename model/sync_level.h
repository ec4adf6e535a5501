// QEMU's cumulative writeback levels (seed 000): RUNTIME ⊂ RESET ⊂ FULL.
#pragma once

namespace regsync::model {

enum class SyncLevel : int {
    Runtime = 1,  // KVM_PUT_RUNTIME_STATE: other vCPUs keep running
    Reset = 2,    // KVM_PUT_RESET_STATE: after system reset, all vCPUs stopped
    Full = 3,     // KVM_PUT_FULL_STATE: after machine init or loadvm
};

inline constexpr const char* to_string(SyncLevel l) {
    switch (l) {
        case SyncLevel::Runtime: return "KVM_PUT_RUNTIME_STATE";
        case SyncLevel::Reset: return "KVM_PUT_RESET_STATE";
        case SyncLevel::Full: return "KVM_PUT_FULL_STATE";
    }
    return "?";
}

}  // namespace regsync::model
