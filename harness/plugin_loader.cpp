#include "harness/plugin_loader.h"

#include <dlfcn.h>
#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "harness/input_error.h"
#include "harness/input_file.h"
#include "model/catalogue.h"
#include "sim/rng.h"
#include "model/plugin_policy.h"
#include "model/policy_registry.h"

namespace regsync::harness {

namespace {

std::vector<LoadedPlugin>& plugins() {
    static std::vector<LoadedPlugin> v;
    return v;
}

// What regsync_plugin_init's calls of register_layer collect.
struct Registration {
    regsync_registry pub;  // first: the plugin's pointer is this struct's address
    std::vector<const regsync_sync_layer*> layers;
    std::string error;
};

int register_layer(regsync_registry* r, const regsync_sync_layer* l) {
    auto& reg = *reinterpret_cast<Registration*>(r);
    if (!l) {
        if (reg.error.empty()) reg.error = "register_layer(NULL)";
        return -EINVAL;
    }
    if (auto why = model::check_layer(*l); !why.empty()) {
        if (reg.error.empty()) reg.error = why;
        return -EINVAL;
    }
    if (model::find_policy(l->name)) {
        if (reg.error.empty()) reg.error = std::string("policy name '") + l->name + "' is taken";
        return -EEXIST;
    }
    reg.layers.push_back(l);
    return 0;
}

// A vCPU handle for the load-time check: no kernel behind it.
int no_ioctl(regsync_vcpu*, unsigned long, void*) { return -ENOTTY; }
void no_lock(regsync_vcpu*, unsigned) {}
int not_running(regsync_vcpu*) { return 0; }
int no_reset_value(regsync_vcpu*, const char*, std::uint64_t* v) {
    if (v) *v = 0;
    return 0;
}
int index0(regsync_vcpu*) { return 0; }
constexpr regsync_services kScratch{sizeof(regsync_services), &no_ioctl, &no_lock, &no_lock, &not_running, &no_reset_value, &index0};

// Every catalogue register of its arch must be kept by the layer: the
// monitor, reset, savevm and loadvm reach them by name.
std::string check_registers(const regsync_sync_layer& l) {
    const auto& cat = model::catalogue(model::arch_of(l));
    regsync_vcpu v{&kScratch};
    void* st = l.create_vcpu(&v);
    if (!st) return std::string("layer '") + l.name + "': create_vcpu returned NULL";
    std::string why;
    for (const auto& d : cat.regs) {
        const std::string n(d.name);
        std::uint64_t x = 0;
        if (const int e = l.set_register(st, n.c_str(), 0); e < 0 && why.empty())
            why = "set_register(\"" + n + "\") returned " + std::to_string(e);
        if (const int e = l.get_register(st, n.c_str(), &x); e < 0 && why.empty())
            why = "get_register(\"" + n + "\") returned " + std::to_string(e);
    }
    if (l.destroy_vcpu) l.destroy_vcpu(st);
    return why.empty() ? why : std::string("layer '") + l.name + "' does not keep every catalogue register: " + why;
}

// The checks of a layer that register_layer() accepted, before it becomes a
// policy: "" or why not.
std::string layer_problem(const regsync_sync_layer& l) {
    if (l.follows && *l.follows) {
        const auto* f = model::find_policy(l.follows);
        if (!f || !f->plugin.empty()) return std::string("layer '") + l.name + "' follows '" + l.follows + "', which is not a built-in policy";
    }
    return check_registers(l);
}

void add_policy(const regsync_sync_layer& l, const std::string& origin, std::uint64_t hash) {
    model::PolicyInfo p;
    p.name = l.name;
    p.description = l.description ? l.description : "";
    const regsync_sync_layer* lp = &l;
    p.make = [lp](model::Arch) { return std::make_unique<model::PluginPolicy>(*lp); };
    p.plugin = origin;
    p.plugin_hash = hash;
    p.arches = model::arch_bit(model::arch_of(l));
    p.follows = l.follows ? l.follows : "";
    if (!model::register_policy(std::move(p))) throw InputError(origin + ": policy name '" + l.name + "' is taken");
}

}  // namespace

std::uint64_t file_hash(const std::string& path) {
    const auto bytes = read_input_file(path, ~std::size_t{0}, "plugin");
    if (!bytes) throw InputError(path + ": cannot open plugin");
    return sim::fnv1a(*bytes);
}

const std::vector<LoadedPlugin>& loaded_plugins() { return plugins(); }

std::string elf_header_problem(std::string_view head) {
#if defined(__x86_64__)
    constexpr unsigned kMachine = EM_X86_64;
#elif defined(__aarch64__)
    constexpr unsigned kMachine = EM_AARCH64;
#elif defined(__riscv)
    constexpr unsigned kMachine = EM_RISCV;
#else
    constexpr unsigned kMachine = EM_NONE;
#endif
    if (head.size() < sizeof(Elf64_Ehdr) || head.substr(0, SELFMAG) != std::string_view(ELFMAG, SELFMAG)) return "not an ELF file";
    Elf64_Ehdr h;
    std::memcpy(&h, head.data(), sizeof h);
    if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB) return "not a 64-bit little-endian ELF file";
    if (h.e_type != ET_DYN) return "an ELF file, but not a shared object (build it with -shared)";
    if (kMachine != EM_NONE && h.e_machine != kMachine)
        return "a shared object for ELF machine " + std::to_string(h.e_machine) + ", this regsync runs on machine " + std::to_string(kMachine);
    return "";
}

std::string check_layer_table(const regsync_sync_layer& l) {
    if (auto why = model::check_layer(l); !why.empty()) return why;
    return layer_problem(l);
}

const LoadedPlugin& load_plugin(const std::string& path) {
    for (const auto& p : plugins())
        if (p.path == path) return p;
    // Checked before dlopen(), which runs the library's constructors.
    const auto head = read_input_file(path, ~std::size_t{0}, "plugin");  // its hash is of every byte
    if (!head) throw InputError(path + ": cannot open plugin");
    if (auto why = elf_header_problem(*head); !why.empty()) throw InputError(path + ": not a regsync plugin: " + why);
    const std::uint64_t hash = sim::fnv1a(*head);
    // A path without '/' would make dlopen search the library path.
    const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
    void* h = ::dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = ::dlerror();
        throw InputError(path + ": cannot load plugin: " + (e ? e : "dlopen failed"));
    }
    const auto* abi = static_cast<const std::uint32_t*>(::dlsym(h, "regsync_plugin_abi_version"));
    if (!abi) throw InputError(path + ": not a regsync plugin: no symbol regsync_plugin_abi_version (define it with REGSYNC_PLUGIN())");
    if (*abi != REGSYNC_ABI_VERSION)
        throw InputError(path + ": plugin built for regsync ABI version " + std::to_string(*abi) + ", this regsync has ABI version " +
                         std::to_string(REGSYNC_ABI_VERSION) + "; rebuild it against this regsync's regsync.h");
    using Init = int (*)(regsync_registry*);
    auto init = reinterpret_cast<Init>(::dlsym(h, "regsync_plugin_init"));
    if (!init) throw InputError(path + ": not a regsync plugin: no entry point regsync_plugin_init (define it with REGSYNC_PLUGIN())");
    Registration reg{{sizeof(regsync_registry), &register_layer}, {}, {}};
    const int r = init(&reg.pub);
    if (!reg.error.empty()) throw InputError(path + ": " + reg.error);
    if (r < 0) throw InputError(path + ": regsync_plugin_init returned " + std::to_string(r) + " (" + std::strerror(-r) + ")");
    if (reg.layers.empty()) throw InputError(path + ": regsync_plugin_init registered no sync layer");
    LoadedPlugin lp{path, hash, {}};
    for (const auto* l : reg.layers) {
        if (auto why = layer_problem(*l); !why.empty()) throw InputError(path + ": " + why);
        add_policy(*l, path, hash);
        lp.policies.emplace_back(l->name);
    }
    plugins().push_back(std::move(lp));
    return plugins().back();  // the handle stays open: the layers live in it
}

void register_linked_layer(const regsync_sync_layer& layer, const std::string& origin) {
    if (auto why = check_layer_table(layer); !why.empty()) throw InputError(origin + ": " + why);
    add_policy(layer, origin, 0);
}

}  // namespace regsync::harness
