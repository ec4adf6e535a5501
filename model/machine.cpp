#include "model/machine.h"

#include <algorithm>

#include "sim/rng.h"

namespace regsync::model {

void Machine::emit_intent(int cpu, RegIndex r, std::uint64_t v, sim::IntentCause why) {
    const auto& d = vmm_.arch().cat()[r];
    vmm_.world().emit({.kind = sim::EventKind::Intent, .vcpu = static_cast<std::int16_t>(cpu), .reg = r,
                       .aux = static_cast<std::uint32_t>(why), .value = v & d.mask(), .mask = d.mask()});
}

void Machine::machine_init_done() {
    vmm_.bql_lock();
    // The machine's initial register state is meant to reach the kernel.
    const auto& cat = vmm_.arch().cat();
    for (int i = 0; i < vmm_.cpu_count(); ++i)
        for (std::size_t r = 0; r < cat.size(); ++r)
            emit_intent(i, static_cast<RegIndex>(r), vmm_.cpu(i).env[r], sim::IntentCause::MachineInit);
    vmm_.cpu_synchronize_all_post_init();
    vmm_.vm_start();
    running_ = true;
    vmm_.bql_unlock();
}

std::uint64_t Machine::monitor_read(int cpu, RegIndex r) {
    const std::uint64_t op = vmm_.world().sched().pending_rest();  // the main loop's, naming this operation
    vmm_.bql_lock();
    CPUState& c = vmm_.cpu(cpu);
    {
        Vmm::RestingWaits resting(vmm_, op, 1);
        vmm_.cpu_synchronize_state(c);
    }
    std::uint64_t v = 0;
    sim::HookNote note(vmm_.world(), "read_reg (monitor)", cpu);
    if (vmm_.policy().reads_on_vcpu_thread())
        vmm_.run_on_cpu(c, [&](CPUState& cc) { v = vmm_.policy().read_reg(cc, vmm_.arch(), r); });
    else
        v = vmm_.policy().read_reg(c, vmm_.arch(), r);
    vmm_.world().emit({.kind = sim::EventKind::MonitorRead, .vcpu = static_cast<std::int16_t>(cpu), .reg = r, .value = v});
    vmm_.bql_unlock();
    return v;
}

void Machine::monitor_write(int cpu, RegIndex r, std::uint64_t v) {
    const std::uint64_t op = vmm_.world().sched().pending_rest();  // the main loop's, naming this operation
    vmm_.bql_lock();
    if (running_) {
        Vmm::RestingWaits resting(vmm_, op, 2);
        vmm_.vm_stop();
    }
    CPUState& c = vmm_.cpu(cpu);
    {
        Vmm::RestingWaits resting(vmm_, op, 3);
        vmm_.cpu_synchronize_state(c);
    }
    emit_intent(cpu, r, v, sim::IntentCause::Monitor);
    {
        sim::HookNote note(vmm_.world(), "write_reg (monitor)", cpu);
        vmm_.policy().write_reg(c, vmm_.arch(), r, v);
    }
    if (running_) vmm_.vm_start();
    vmm_.bql_unlock();
}

void Machine::cpu_reset(CPUState& cpu) {
    // x86_cpu_reset()/ppc_cpu_reset(): the whole env takes reset values
    // (memset up to end_reset_fields), but only registers at RESET level or
    // below are promised to reach the kernel by KVM_PUT_RESET_STATE.
    const auto& cat = vmm_.arch().cat();
    auto reset = cat.reset_values(cpu.cpu_index == 0);
    if (cat.tsc >= 0) {
        const auto t = static_cast<std::size_t>(cat.tsc);
        reset[t] = vmm_.policy().tsc_after_reset(vmm_.policy().read_reg(cpu, vmm_.arch(), cat.tsc), reset[t]);
    }
    for (std::size_t i = 0; i < cat.size(); ++i) {
        const auto r = static_cast<RegIndex>(i);
        if (cat.regs[i].reset_kept) continue;  // the architecture's reset leaves it alone
        if (cat.regs[i].level <= SyncLevel::Reset) emit_intent(cpu.cpu_index, r, reset[i], sim::IntentCause::Reset);
        vmm_.policy().write_reg(cpu, vmm_.arch(), r, reset[i]);
    }
}

// qemu_system_reset() (system/runstate.c) with the vCPUs paused: get every
// vCPU, run the reset handlers, put KVM_PUT_RESET_STATE.
void Machine::qemu_system_reset() {
    vmm_.cpu_synchronize_all_states();
    for (int i = 0; i < vmm_.cpu_count(); ++i) {
        cpu_reset(vmm_.cpu(i));
        sim::HookNote note(vmm_.world(), "reset_handlers", i);
        vmm_.policy().reset_handlers(vmm_.cpu(i), vmm_.arch());
    }
    vmm_.cpu_synchronize_all_post_reset();
}

void Machine::system_reset() {
    vmm_.bql_lock();
    vmm_.pause_all_vcpus();
    qemu_system_reset();
    vmm_.resume_all_vcpus();
    running_ = true;
    vmm_.bql_unlock();
}

void Machine::savevm(const std::string& name) {
    vmm_.bql_lock();
    vmm_.vm_stop();
    vmm_.cpu_synchronize_all_states();  // qemu_savevm_state_complete
    auto slot = std::find_if(snapshots_.begin(), snapshots_.end(), [&](const auto& s) { return s.first == name; });
    if (slot == snapshots_.end()) slot = snapshots_.insert(snapshots_.end(), {name, {}});
    const auto snap_id = static_cast<std::uint32_t>(slot - snapshots_.begin());
    const auto& cat = vmm_.arch().cat();
    slot->second.assign(static_cast<std::size_t>(vmm_.cpu_count()), RegisterValues{});
    for (int i = 0; i < vmm_.cpu_count(); ++i) {
        auto& v = slot->second[static_cast<std::size_t>(i)];
        for (std::size_t r = 0; r < cat.size(); ++r) {
            v[r] = vmm_.policy().read_reg(vmm_.cpu(i), vmm_.arch(), static_cast<RegIndex>(r));
            vmm_.world().emit({.kind = sim::EventKind::SnapshotSaved, .vcpu = static_cast<std::int16_t>(i),
                               .reg = static_cast<RegIndex>(r), .aux = snap_id, .value = v[r]});
        }
    }
    vmm_.vm_start();
    vmm_.bql_unlock();
}

bool Machine::loadvm(const std::string& name) {
    auto slot = std::find_if(snapshots_.begin(), snapshots_.end(), [&](const auto& s) { return s.first == name; });
    if (slot == snapshots_.end()) return false;
    const auto* snap = &slot->second;
    const auto snap_id = static_cast<std::uint32_t>(slot - snapshots_.begin());
    vmm_.bql_lock();
    vmm_.vm_stop();
    // load_snapshot() (migration/savevm.c) resets the machine before it
    // loads: qemu_system_reset(SHUTDOWN_CAUSE_SNAPSHOT_LOAD), since 2011
    // ("Reset system before loadvm"), so a RESET put precedes the FULL put.
    qemu_system_reset();
    vmm_.cpu_synchronize_all_pre_loadvm();
    vmm_.world().emit({.kind = sim::EventKind::SnapshotLoaded, .aux = snap_id});
    const auto& cat = vmm_.arch().cat();
    for (int i = 0; i < vmm_.cpu_count(); ++i)
        for (std::size_t r = 0; r < cat.size(); ++r) {
            const auto reg = static_cast<RegIndex>(r);
            emit_intent(i, reg, (*snap)[static_cast<std::size_t>(i)][r], sim::IntentCause::Snapshot);
            vmm_.policy().write_reg(vmm_.cpu(i), vmm_.arch(), reg, (*snap)[static_cast<std::size_t>(i)][r]);
        }
    vmm_.cpu_synchronize_all_post_init();  // qemu_loadvm_state
    vmm_.vm_start();
    vmm_.bql_unlock();
    return true;
}

std::uint64_t Machine::state_hash() const {
    std::uint64_t h = running_;
    for (const auto& [name, regs] : snapshots_) {
        for (char ch : name) h = sim::hash_combine(h, static_cast<std::uint64_t>(ch));
        for (const auto& r : regs)
            for (auto x : r) h = sim::hash_combine(h, x);
    }
    return h;
}

}  // namespace regsync::model
