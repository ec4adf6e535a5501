#include "sim/flight_recorder.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace regsync::sim::flight {

namespace {
std::atomic<Region*> g_region{nullptr};
thread_local Slot* t_slot = nullptr;
}  // namespace

void install(Region* r) { g_region.store(r); }
bool installed() { return g_region.load() != nullptr; }
Region* installed_region() { return g_region.load(); }

// Gives the slot back when its thread exits, idle.
struct SlotOwner {
    Slot* s = nullptr;
    ~SlotOwner() {
        if (!s) return;
        s->state.store(static_cast<std::uint32_t>(SlotState::Idle));
        s->in_hook.store(0);
        s->owned.store(0);
    }
};
thread_local SlotOwner t_owner;

Slot* slot() {
    if (t_slot) return t_slot;
    Region* r = g_region.load();
    if (!r) return nullptr;
    for (std::size_t i = 0; i < kSlots; ++i) {
        std::uint32_t free = 0;
        if (!r->slots[i].owned.compare_exchange_strong(free, 1)) continue;
        // A slot a finished thread left Faulted stays so: the supervisor reads it.
        if (r->slots[i].state.load() == static_cast<std::uint32_t>(SlotState::Faulted)) continue;
        std::uint32_t c = r->claimed.load();
        while (c < i + 1 && !r->claimed.compare_exchange_weak(c, static_cast<std::uint32_t>(i + 1))) {
        }
        t_slot = &r->slots[i];
        t_slot->tid = static_cast<std::int32_t>(::syscall(SYS_gettid));
        t_owner.s = t_slot;
        return t_slot;
    }
    return nullptr;  // more threads than slots: those run unrecorded
}

void copy_str(char* dst, std::size_t cap, std::string_view s) {
    const std::size_t n = std::min(cap - 1, s.size());
    std::memcpy(dst, s.data(), n);
    dst[n] = '\0';
}

void begin_execution(std::string_view scenario_name, std::string_view scenario_source, std::uint64_t scenario_hash,
                     std::string_view policy, std::string_view plugin, std::string_view kernel) {
    Slot* s = slot();
    if (!s) return;
    copy_str(s->scenario_name, sizeof s->scenario_name, scenario_name);
    copy_str(s->scenario_source, sizeof s->scenario_source, scenario_source);
    copy_str(s->policy, sizeof s->policy, policy);
    copy_str(s->plugin, sizeof s->plugin, plugin);
    copy_str(s->kernel, sizeof s->kernel, kernel);
    s->scenario_hash = scenario_hash;
    s->n_decisions = 0;
    s->truncated = 0;
    s->hook[0] = '\0';
    s->fault[0] = '\0';
    s->in_hook.store(0);
    s->state.store(static_cast<std::uint32_t>(SlotState::Running));
}

void end_execution() {
    if (Slot* s = t_slot) s->state.store(static_cast<std::uint32_t>(SlotState::Idle));
}

void record_decision(std::uint16_t actor) {
    Slot* s = t_slot;
    if (!s) return;
    if (s->n_decisions < kMaxDecisions)
        s->decisions[s->n_decisions++] = actor;
    else
        s->truncated = 1;
    s->heartbeat.fetch_add(1, std::memory_order_relaxed);
}

void heartbeat() {
    if (Slot* s = t_slot) s->heartbeat.fetch_add(1, std::memory_order_relaxed);
}

// At every call into a plugin: only copies, the supervisor formats.
void enter_hook(std::string_view hook, int vcpu) {
    Slot* s = t_slot;
    if (!s) return;
    copy_str(s->hook, sizeof s->hook, hook);
    s->hook_vcpu = vcpu;
    s->in_hook.store(1);
    s->heartbeat.fetch_add(1, std::memory_order_relaxed);
}

void mark_crashed() {
    if (Slot* s = t_slot) s->crashed.store(1);
}

void leave_hook() {
    if (Slot* s = t_slot) s->in_hook.store(0);
}

void record_fault(std::string_view message) {
    Slot* s = t_slot;
    if (!s) return;
    copy_str(s->fault, sizeof s->fault, message);
    s->state.store(static_cast<std::uint32_t>(SlotState::Faulted));
}

}  // namespace regsync::sim::flight
