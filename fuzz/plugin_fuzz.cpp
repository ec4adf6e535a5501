// Plugins: the checks made before regsync runs a plugin's code. The raw
// input goes through the ELF header check that comes before dlopen(); then
// it is read as a description of a layer table (lines "KEY VALUE", below),
// and the table goes through every check load_plugin() makes before the
// layer becomes a policy, its hooks answering as the description says.
//
//   abi_version N | size N | arch N | flags N    the table's fields
//   name S | description S | follows S            its strings ("-": NULL;
//                                                 %XX is the byte XX)
//   null HOOK                                     leave a hook NULL
//   create_vcpu null                              create_vcpu returns NULL
//   get_register NAME|* ERR, set_register ...     that hook returns ERR
#include <cctype>
#include <cstdlib>
#include <map>
#include <sstream>

#include "fuzz/fuzz_util.h"
#include "harness/plugin_loader.h"

namespace {

struct Answers {
    bool create_null = false;
    std::map<std::string, int> get, set;
    static int of(const std::map<std::string, int>& m, const char* name) {
        if (auto it = m.find(name); it != m.end()) return it->second;
        if (auto it = m.find("*"); it != m.end()) return it->second;
        return 0;
    }
};
Answers answers;
int cpu_state;

extern "C" {
void* create_vcpu(regsync_vcpu*) { return answers.create_null ? nullptr : &cpu_state; }
void destroy_vcpu(void*) {}
int hook(void*) { return 0; }
int vm_state_change(void*, int) { return 0; }
int get_register(void*, const char* name, std::uint64_t* v) {
    *v = 0;
    return Answers::of(answers.get, name);
}
int set_register(void*, const char* name, std::uint64_t) { return Answers::of(answers.set, name); }
}

// "%0a" -> "\n": a string may hold any byte.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    const std::string text = fuzz::text_of(data, size);
    (void)harness::elf_header_problem(text);

    answers = Answers{};
    regsync_sync_layer l{};
    l.abi_version = REGSYNC_ABI_VERSION;
    l.size = sizeof l;
    std::string name = "fuzz-layer", description, follows;
    bool name_null = false, description_null = true, follows_null = true;
    l.create_vcpu = &create_vcpu;
    l.destroy_vcpu = &destroy_vcpu;
    l.needs_synchronize = l.synchronize_state = l.post_reset = l.post_init = l.pre_loadvm = l.pre_run = l.post_run = &hook;
    l.vm_state_change = &vm_state_change;
    l.get_register = &get_register;
    l.set_register = &set_register;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream w(line);
        std::string key, value, extra;
        w >> key >> value >> extra;
        const auto num = std::strtoull(value.c_str(), nullptr, 0);
        if (key == "abi_version") l.abi_version = static_cast<std::uint32_t>(num);
        else if (key == "size") l.size = static_cast<std::uint32_t>(num);
        else if (key == "arch") l.arch = static_cast<std::uint32_t>(num);
        else if (key == "flags") l.flags = static_cast<std::uint32_t>(num);
        else if (key == "name") name_null = value == "-", name = unescape(value);
        else if (key == "description") description_null = value == "-", description = unescape(value);
        else if (key == "follows") follows_null = value == "-", follows = unescape(value);
        else if (key == "create_vcpu" && value == "null") answers.create_null = true;
        else if (key == "get_register") answers.get[value] = static_cast<int>(std::strtol(extra.c_str(), nullptr, 0));
        else if (key == "set_register") answers.set[value] = static_cast<int>(std::strtol(extra.c_str(), nullptr, 0));
        else if (key == "null") {
            if (value == "create_vcpu") l.create_vcpu = nullptr;
            else if (value == "needs_synchronize") l.needs_synchronize = nullptr;
            else if (value == "synchronize_state") l.synchronize_state = nullptr;
            else if (value == "post_reset") l.post_reset = nullptr;
            else if (value == "post_init") l.post_init = nullptr;
            else if (value == "pre_run") l.pre_run = nullptr;
            else if (value == "get_register") l.get_register = nullptr;
            else if (value == "set_register") l.set_register = nullptr;
            else if (value == "destroy_vcpu") l.destroy_vcpu = nullptr;
        }
    }
    l.name = name_null ? nullptr : name.c_str();
    l.description = description_null ? nullptr : description.c_str();
    l.follows = follows_null ? nullptr : follows.c_str();
    // As load_plugin() reports it.
    fuzz::result_or_input_error([&] {
        if (const auto why = harness::check_layer_table(l); !why.empty()) throw harness::InputError("fuzz.so: " + why);
    });
    return 0;
}
