#include "model/policies/accessors.h"

namespace regsync::model {

namespace {
RegMask bit(RegIndex r) { return RegMask{1} << r; }

RegMask changes_at_runtime(const ArchSync& arch) {
    RegMask m = arch.level_mask(SyncLevel::Runtime);
    const auto& c = arch.cat();
    for (std::size_t i = 0; i < c.size(); ++i)
        if (c.regs[i].async_mask != 0 || c.regs[i].time_varying) m |= RegMask{1} << i;
    return m;
}
}  // namespace

void Accessors::fetch(CPUState& cpu, const ArchSync& arch, RegMask mask) {
    all_ = arch.all();
    const RegMask want = mask & ~cpu.cached;
    if (!want) return;
    // The ioctls return whole structs: keep what userspace changed.
    const RegisterValues keep = cpu.env;
    arch.get(cpu, arch.ioctl_closure(want) & ~cpu.dirty_regs);
    for (std::size_t i = 0; i < arch.cat().size(); ++i)
        if (cpu.dirty_regs & (RegMask{1} << i)) cpu.env[i] = keep[i];
    cpu.cached |= arch.ioctl_closure(want) & ~cpu.dirty_regs;
}

void Accessors::synchronize_state(CPUState& cpu, const ArchSync& arch) { fetch(cpu, arch, arch.all()); }

std::uint64_t Accessors::read_reg(CPUState& cpu, const ArchSync& arch, RegIndex r) {
    fetch(cpu, arch, bit(r));
    return cpu.env[static_cast<std::size_t>(r)];
}

void Accessors::write_reg(CPUState& cpu, const ArchSync& arch, RegIndex r, std::uint64_t v) {
    read_reg(cpu, arch, r);
    cpu.env[static_cast<std::size_t>(r)] = v;
    cpu.dirty_regs |= bit(r);
    cpu.cached |= bit(r);
}

void Accessors::writeback(CPUState& cpu, const ArchSync& arch, SyncLevel level) {
    if (!cpu.dirty_regs) return;
    // Struct families are written whole: their other fields must be current.
    fetch(cpu, arch, arch.ioctl_closure(cpu.dirty_regs));
    SyncLevel highest = level;
    for (std::size_t i = 0; i < arch.cat().size(); ++i)
        if ((cpu.dirty_regs & (RegMask{1} << i)) && arch.cat().regs[i].level > highest) highest = arch.cat().regs[i].level;
    arch.put(cpu, cpu.dirty_regs, PutOptions{highest});
    cpu.dirty_regs = 0;
}

void Accessors::pre_run(CPUState& cpu, const ArchSync& arch) { writeback(cpu, arch, SyncLevel::Runtime); }

void Accessors::post_run(CPUState& cpu, const ArchSync& arch) { cpu.cached &= ~changes_at_runtime(arch); }

}  // namespace regsync::model
