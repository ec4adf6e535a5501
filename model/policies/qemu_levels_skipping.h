// `qemu-levels` with one hook left out, as a VMM that forgets it would:
//   `qemu-levels-no-post-init`: loadvm (and machine init) without
//     cpu_synchronize_all_post_init(): the restored snapshot stays in env.
//   `qemu-levels-no-post-reset`: system reset without
//     cpu_synchronize_all_post_reset(): reset values reach the kernel only
//     through the next RUNTIME writeback, if at all.
#pragma once
#include "model/policies/qemu_levels.h"

namespace regsync::model {

class QemuLevelsNoPostInit final : public QemuLevels {
public:
    std::string_view name() const override { return "qemu-levels-no-post-init"; }
    void post_init(CPUState&, const ArchSync&) override {}
};

class QemuLevelsNoPostReset final : public QemuLevels {
public:
    std::string_view name() const override { return "qemu-levels-no-post-reset"; }
    void post_reset(CPUState&, const ArchSync&) override {}
};

}  // namespace regsync::model
