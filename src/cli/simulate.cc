#include "cli/simulate.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <queue>
#include <random>
#include <set>
#include <span>
#include <vector>

#include "core/clock.h"

namespace hookd {
namespace {
namespace json = boost::json;
using std::chrono::sys_days;

constexpr int64_t kMsPerMinute = 60'000;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;
constexpr int64_t kRetryWindowUs = 30'000'000;

// ---- flags ------------------------------------------------------------------------------

std::unexpected<Error> Usage(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::optional<uint64_t> ParseUnsigned(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// "2026-11-26" -> its 00:00 UTC in ms.
std::optional<int64_t> ParseDateMs(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto y = ParseUnsigned(s.substr(0, 4)), m = ParseUnsigned(s.substr(5, 2)),
       d = ParseUnsigned(s.substr(8, 2));
  if (!y || !m || !d) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(*y)),
                                  std::chrono::month(static_cast<unsigned>(*m)),
                                  std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok() || *y < 1970) return std::nullopt;
  return sys_days(ymd).time_since_epoch().count() * kMsPerDay;
}

// ---- calendar ---------------------------------------------------------------------------

int64_t DayNumber(int64_t ms) {
  return ms >= 0 ? ms / kMsPerDay : (ms - kMsPerDay + 1) / kMsPerDay;
}

sys_days Day(int64_t day_number) { return sys_days(std::chrono::days(day_number)); }

std::string FormatDate(int64_t day_number) {
  std::chrono::year_month_day ymd{Day(day_number)};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

bool IsWeekend(int64_t day_number) {
  std::chrono::weekday w{Day(day_number)};
  return w == std::chrono::Saturday || w == std::chrono::Sunday;
}

int64_t NextWeekday(int64_t day_number) {
  while (IsWeekend(day_number)) ++day_number;
  return day_number;
}

// The last of `n` working days starting on `first` (a weekday).
int64_t AddWorkingDays(int64_t first, int n) {
  int64_t d = first;
  for (int i = 1; i < n; ++i) d = NextWeekday(d + 1);
  return d;
}

// EU summer time: from the last Sunday of March to the last Sunday of October, 01:00 UTC.
int64_t SummerShiftMs(int64_t utc_ms) {
  using namespace std::chrono;
  const year y = year_month_day{Day(DayNumber(utc_ms))}.year();
  const int64_t begin = sys_days{y / March / Sunday[last]}.time_since_epoch().count() * kMsPerDay;
  const int64_t end = sys_days{y / October / Sunday[last]}.time_since_epoch().count() * kMsPerDay;
  return utc_ms >= begin + kMsPerHour && utc_ms < end + kMsPerHour ? kMsPerHour : 0;
}

// "2026-02-02T08:58:12.000+01:00"
std::string FormatLocal(int64_t utc_ms, int64_t offset_ms) {
  std::string s = FormatTime(utc_ms + offset_ms);
  s.pop_back();  // 'Z'
  const int64_t m = offset_ms / kMsPerMinute;
  return s + fmt::format("{}{:02}:{:02}", m < 0 ? '-' : '+', std::abs(m) / 60, std::abs(m) % 60);
}

// ---- randomness -------------------------------------------------------------------------

// xoshiro256** seeded through splitmix64: small, fast and the same sequence everywhere
// (std:: distributions are implementation-defined, which would make --seed less useful).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = SplitMix(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) {
    return n == 0 ? 0 : static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Unit(); }
  bool Chance(double p) { return Unit() < p; }
  template <class T>
  const T& Pick(std::span<const T> items) {
    return items[Below(items.size())];
  }
  // An index drawn with the given weights (some positive).
  size_t Weighted(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double r = Unit() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

// ---- the company's world ----------------------------------------------------------------

using Names = std::span<const std::string_view>;

struct OfficeDef {
  std::string_view name;
  double lat, lon;
  int64_t standard_offset_ms;  // summer time is added from March to October
  double weight;               // share of hires
};

constexpr OfficeDef kOffices[] = {
    {"Madrid – Castellana", 40.4468, -3.6925, kMsPerHour, 40},
    {"Barcelona – Poblenou", 41.4036, 2.1944, kMsPerHour, 25},
    {"Valencia – Ruzafa", 39.4623, -0.3763, kMsPerHour, 15},
    {"Lisboa – Parque das Nações", 38.7680, -9.0940, 0, 10},
    {"Sevilla – Cartuja", 37.4103, -6.0050, kMsPerHour, 10},
    {"Bilbao – Abando", 43.2615, -2.9340, kMsPerHour, 8},
};

struct DepartmentDef {
  std::string_view name;
  std::string_view onboarding_template;
  std::span<const std::string_view> titles;
  int64_t salary_lo, salary_hi;  // EUR a year
  double weight;                 // share of hires
};

constexpr std::string_view kManagementTitles[] = {"CEO"};
constexpr std::string_view kPeopleTitles[] = {"HR Business Partner",
                                              "Talent Acquisition Specialist",
                                              "People Operations Specialist", "Payroll Specialist"};
constexpr std::string_view kEngineeringTitles[] = {"Backend Engineer", "Frontend Engineer",
                                                   "QA Engineer",      "DevOps Engineer",
                                                   "Data Engineer",    "Mobile Developer"};
constexpr std::string_view kSalesTitles[] = {
    "Account Executive", "Sales Development Representative", "Key Account Manager"};
constexpr std::string_view kSupportTitles[] = {"Customer Support Agent", "Support Specialist",
                                               "Customer Success Manager"};
constexpr std::string_view kFinanceTitles[] = {"Financial Analyst", "Accountant", "Controller"};
constexpr std::string_view kMarketingTitles[] = {"Marketing Specialist", "Content Manager",
                                                 "Growth Marketer", "Brand Designer"};
constexpr std::string_view kOperationsTitles[] = {"Operations Analyst", "Warehouse Operator",
                                                  "Logistics Coordinator", "Fleet Coordinator"};
constexpr std::string_view kProductTitles[] = {"Product Manager", "Product Designer",
                                               "UX Researcher"};
constexpr std::string_view kLegalTitles[] = {"Legal Counsel", "Compliance Officer"};

// Index 0 (Management, the CEO alone) and 1 (People, who review the CEO's time off) are
// always there; a bigger company has more of the rest.
constexpr DepartmentDef kDepartments[] = {
    {"Management", "Incorporación – Dirección", kManagementTitles, 110000, 150000, 0},
    {"People", "Incorporación – Personas", kPeopleTitles, 30000, 48000, 1},
    {"Engineering", "Incorporación – Ingeniería", kEngineeringTitles, 38000, 65000, 5},
    {"Customer Support", "Incorporación – Atención al cliente", kSupportTitles, 22000, 36000, 4},
    {"Sales", "Incorporación – Ventas", kSalesTitles, 28000, 55000, 4},
    {"Operations", "Incorporación – Operaciones", kOperationsTitles, 22000, 40000, 3},
    {"Finance", "Incorporación – Finanzas", kFinanceTitles, 32000, 55000, 1},
    {"Marketing", "Incorporación – Marketing", kMarketingTitles, 28000, 48000, 2},
    {"Product", "Incorporación – Producto", kProductTitles, 40000, 65000, 2},
    {"Legal", "Incorporación – Legal", kLegalTitles, 40000, 70000, 1},
};

constexpr std::string_view kSpanishGiven[] = {
    "Lucía",  "María",    "Carmen", "Paula",     "Laura",      "Marta",  "Sara",
    "Ana",    "Elena",    "Alba",   "Irene",     "Claudia",    "Nerea",  "Ainhoa",
    "Noelia", "Cristina", "Rocío",  "Pilar",     "Beatriz",    "Inés",   "María José",
    "Hugo",   "Daniel",   "Pablo",  "Alejandro", "Álvaro",     "Javier", "Adrián",
    "David",  "Sergio",   "Diego",  "Jorge",     "Iker",       "Marcos", "Raúl",
    "Andrés", "Íñigo",    "Óscar",  "Rubén",     "Carlos",     "Manuel", "José Luis",
    "Jesús",  "Aitor",    "Xavier", "Núria",     "Montserrat", "Jordi"};
constexpr std::string_view kSpanishSurnames[] = {
    "García",     "Fernández", "González", "Rodríguez", "López",    "Martínez",  "Sánchez",
    "Pérez",      "Gómez",     "Martín",   "Jiménez",   "Ruiz",     "Hernández", "Díaz",
    "Moreno",     "Muñoz",     "Álvarez",  "Romero",    "Alonso",   "Gutiérrez", "Navarro",
    "Torres",     "Domínguez", "Vázquez",  "Ramos",     "Gil",      "Serrano",   "Blanco",
    "Molina",     "Ortega",    "Castro",   "Rubio",     "Ortiz",    "Núñez",     "Iglesias",
    "Garrido",    "Sanz",      "Medina",   "Cortés",    "Castillo", "Lozano",    "Cano",
    "Prieto",     "Méndez",    "Calvo",    "Gallego",   "Vidal",    "León",      "Márquez",
    "Herrera",    "Peña",      "Cabrera",  "Vega",      "Fuentes",  "Carrasco",  "Aguilar",
    "Etxeberria", "Puig",      "Ferrer",   "Soler",     "Aranda",   "Quintana"};
constexpr std::string_view kPortugueseGiven[] = {
    "João", "Inês", "Tiago", "Mariana", "Rui", "Gonçalo", "Beatriz", "Sofia", "Duarte", "Leonor"};
constexpr std::string_view kPortugueseSurnames[] = {"Silva",    "Santos", "Ferreira",  "Pereira",
                                                    "Oliveira", "Costa",  "Rodrigues", "Gonçalves",
                                                    "Sousa",    "Lopes"};
constexpr std::string_view kFrenchGiven[] = {"Camille", "Léa",    "Chloé", "Théo",    "Mathieu",
                                             "Élodie",  "Julien", "Manon", "Antoine", "Clément"};
constexpr std::string_view kFrenchSurnames[] = {"Dubois",   "Martin",  "Bernard", "Lefèvre",
                                                "Moreau",   "Laurent", "Girard",  "Roux",
                                                "Fournier", "Mercier"};
constexpr std::string_view kItalianGiven[] = {"Giulia", "Francesca",  "Marco", "Luca",    "Matteo",
                                              "Chiara", "Alessandro", "Sofia", "Lorenzo", "Elisa"};
constexpr std::string_view kItalianSurnames[] = {"Rossi",   "Russo",  "Ferrari", "Esposito",
                                                 "Bianchi", "Romano", "Colombo", "Ricci",
                                                 "Marino",  "Greco"};
constexpr std::string_view kGermanGiven[] = {"Lena",   "Jonas", "Lukas",  "Anna",       "Jürgen",
                                             "Katrin", "Felix", "Hannah", "Maximilian", "Sophie"};
constexpr std::string_view kGermanSurnames[] = {"Müller",  "Schmidt", "Schneider", "Fischer",
                                                "Weber",   "Becker",  "Wagner",    "Hoffmann",
                                                "Schäfer", "Koch"};

struct NameSet {
  Names given, surnames;
  bool two_surnames;  // Spanish style: "Fernández Ortega"
  double weight;
};
const NameSet kNameSets[] = {
    {kSpanishGiven, kSpanishSurnames, true, 70}, {kPortugueseGiven, kPortugueseSurnames, false, 8},
    {kFrenchGiven, kFrenchSurnames, false, 8},   {kItalianGiven, kItalianSurnames, false, 8},
    {kGermanGiven, kGermanSurnames, false, 6},
};

constexpr std::string_view kDomains[] = {"acme-logistica.example",  "olivar-tech.example",
                                         "brisa-seguros.example",   "cierzo-energia.example",
                                         "nortesur-retail.example", "tramuntana-labs.example"};

constexpr std::string_view kTimeOffTypes[] = {"vacation", "personal", "sick", "parental", "other"};
constexpr double kTimeOffWeights[] = {55, 15, 20, 3, 7};
constexpr std::string_view kVacationComments[] = {
    "Vacaciones de verano en Asturias", "Puente de diciembre", "Viaje familiar",
    "Boda de mi hermana en Sevilla",    "Semana en la playa",  "Escapada a Lisboa"};
constexpr std::string_view kPersonalComments[] = {"Asuntos propios", "Cita médica",
                                                  "Gestiones en el banco", "Tutoría del colegio"};
constexpr std::string_view kSickComments[] = {"Gripe", "Fiebre desde anoche",
                                              "Consulta con el especialista"};
constexpr std::string_view kOtherComments[] = {"Mudanza", "Examen oficial", "Deber inexcusable"};
constexpr std::string_view kApprovedComments[] = {"Aprobado. ¡Disfruta!", "OK, sin problema",
                                                  "Aprobado, avisa al equipo", "¡Que te mejores!"};
constexpr std::string_view kRejectedComments[] = {
    "Coincide con el cierre trimestral; ¿podemos moverlo a la semana siguiente?",
    "Ya hay dos personas del equipo fuera esas fechas",
    "Falta cobertura en el turno; hablemos de otras fechas"};
constexpr std::string_view kSources[] = {"web", "mobile", "kiosk", "api"};
constexpr double kSourceWeights[] = {35, 30, 25, 10};

// Folds Latin-1 letters to ASCII and keeps [a-z0-9]: "José Luis" -> "joseluis".
std::string EmailPart(std::string_view s) {
  // U+00C0..U+00FF, each to its base letter(s); "" drops it.
  static constexpr std::string_view kFold[64] = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0xC3 && i + 1 < s.size()) {
      out += kFold[static_cast<unsigned char>(s[++i]) & 0x3F];
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c + 32);
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += static_cast<char>(c);
    }  // spaces, punctuation and other scripts are dropped
  }
  return out;
}

std::string_view FirstWord(std::string_view s) { return s.substr(0, s.find(' ')); }

json::object IdName(const std::string& id, std::string_view name) {
  return {{"id", id}, {"name", name}};
}

}  // namespace

// ---- HrSimulator --------------------------------------------------------------------------

struct HrSimulator::State {
  struct Office {
    std::string id;
    const OfficeDef* def;
  };
  struct Department {
    std::string id;
    const DepartmentDef* def;
    int head = -1;  // employee index
  };
  struct Employee {
    std::string id, first_name, last_name, email, display, job_title, employment_type;
    int department = 0, office = 0;
    bool head = false;  // heads (and the CEO) neither move nor leave: they manage the rest
    bool active = true;
    bool contract_announced = true;  // false for a run's hire until contract.created
    int64_t start_day = 0;
    int pending = 0;  // follow-ups queued for this employee
    // Contract.
    std::string contract_id, contract_type, salary_period = "year";
    int64_t contract_start = 0;
    std::optional<int64_t> contract_end;
    int hours = 40;
    int64_t salary = 0;
    // Clocking.
    std::string open_entry, open_source;
    int64_t open_at_ms = 0;
    int64_t last_clock_day = -1;
    // Time off.
    json::object pending_request;                    // empty when none
    std::vector<std::pair<int64_t, int64_t>> leave;  // approved, inclusive day ranges
    // Onboarding.
    std::string onboarding_id, onboarding_template;
    int64_t tasks_total = 0;
  };
  enum class FollowUpKind {
    kContractCreated,
    kOnboardingStarted,
    kOnboardingCompleted,
    kClockOut,
    kReview
  };
  struct FollowUp {
    int64_t due_ms;
    uint64_t seq;
    FollowUpKind kind;
    int employee;
    bool operator>(const FollowUp& o) const {
      return due_ms != o.due_ms ? due_ms > o.due_ms : seq > o.seq;
    }
  };

  Rng rng;
  int target;  // headcount the company gravitates to
  std::string domain;
  std::vector<Office> offices;
  std::vector<Department> departments;
  std::vector<Employee> people;  // everyone ever, by index
  std::vector<int> active;       // indices of people employed now
  std::set<std::string> emails;
  std::priority_queue<FollowUp, std::vector<FollowUp>, std::greater<>> follow_ups;
  uint64_t follow_up_seq = 0;
  int64_t now_ms = 0;      // simulated UTC time of the last event
  int64_t gap_mean_ms;     // mean simulated time between events
  int64_t clock_day = -1;  // the day clocked_today counts
  int clocked_today = 0;
  int64_t next_employee, next_contract, next_request, next_entry, next_onboarding;

  explicit State(const Config& c)
      : rng(c.seed), target(std::max(c.employees, kSimulateMinEmployees)) {
    domain = std::string(rng.Pick<std::string_view>(kDomains));
    next_employee = rng.Between(1000, 8999);
    next_contract = rng.Between(10000, 89999);
    next_request = rng.Between(10000, 89999);
    next_entry = rng.Between(1000000, 8999999);
    next_onboarding = rng.Between(1000, 8999);
    // A working day of 07:30-19:30 holds about 2.5 events per employee.
    gap_mean_ms =
        std::clamp<int64_t>(12 * kMsPerHour / (target * 5 / 2), 20'000, 30 * kMsPerMinute);

    const int n_offices = std::clamp(1 + target / 20, 2, static_cast<int>(std::size(kOffices)));
    for (int i = 0; i < n_offices; ++i)
      offices.push_back({fmt::format("off_{}", i + 1), &kOffices[i]});
    const int n_departments =
        std::clamp(2 + target / 7, 3, static_cast<int>(std::size(kDepartments)));
    const int dep_base = static_cast<int>(rng.Between(10, 60));
    for (int i = 0; i < n_departments; ++i)
      departments.push_back({fmt::format("dep_{}", dep_base + i), &kDepartments[i]});

    const int64_t first_day = DayNumber(c.start_day_ms);
    // The heads first (the CEO is the head of Management), then everyone else.
    for (int i = 0; i < target; ++i) {
      const bool head = i < n_departments;
      const int dep = head ? i : PickHiringDepartment();
      int idx = NewPerson(dep, head ? 0 : PickOffice(), head, first_day - rng.Between(30, 3650));
      if (head) departments[dep].head = idx;
    }
    now_ms = DayStartMs(NextWeekday(first_day));
    clock_day = LocalDay(now_ms);
  }

  // ---- the company ----

  int PickOffice() {
    std::vector<double> w;
    for (const Office& o : offices) w.push_back(o.def->weight);
    return static_cast<int>(rng.Weighted(w));
  }
  int PickHiringDepartment() {
    std::vector<double> w;
    for (const Department& d : departments) w.push_back(d.def->weight);
    return static_cast<int>(rng.Weighted(w));
  }

  int64_t Round(int64_t amount, int64_t step) { return (amount + step / 2) / step * step; }

  // A new person in memory (no event). `start_day` is their first working day.
  int NewPerson(int dep, int office, bool head, int64_t start_day) {
    Employee e;
    e.id = fmt::format("emp_{}", next_employee);
    next_employee += rng.Between(1, 3);
    std::array<double, std::size(kNameSets)> set_weights;
    for (size_t i = 0; i < set_weights.size(); ++i) set_weights[i] = kNameSets[i].weight;
    const NameSet& set = kNameSets[rng.Weighted(set_weights)];
    e.first_name = std::string(rng.Pick(set.given));
    e.last_name = std::string(rng.Pick(set.surnames));
    if (set.two_surnames) {
      std::string_view second = rng.Pick(set.surnames);
      if (second != e.last_name) e.last_name += " " + std::string(second);
    }
    e.display = e.first_name + " " + std::string(FirstWord(e.last_name));
    const std::string local = EmailPart(e.first_name) + "." + EmailPart(FirstWord(e.last_name));
    e.email = local + "@" + domain;
    for (int n = 2; emails.contains(e.email); ++n)
      e.email = fmt::format("{}{}@{}", local, n, domain);
    emails.insert(e.email);
    e.department = dep;
    e.office = office;
    e.head = head;
    e.start_day = start_day;

    const DepartmentDef& d = *departments[dep].def;
    const double r = rng.Unit();
    if (head) {
      e.job_title = dep == 0 ? "CEO" : fmt::format("Head of {}", d.name);
      e.employment_type = "full_time";
      e.salary = Round(d.salary_hi * 13 / 10 + rng.Between(0, 20000), 1000);
    } else if (r < 0.08 && dep >= 2) {
      e.job_title = fmt::format("{} Intern", d.name);
      e.employment_type = "intern";
    } else {
      e.job_title = std::string(rng.Pick(d.titles));
      e.employment_type = r < 0.2 ? "part_time" : "full_time";
    }
    e.contract_id = fmt::format("ctr_{}", next_contract);
    next_contract += rng.Between(1, 9);
    e.contract_start = start_day;
    if (e.employment_type == "intern") {
      e.contract_type = "internship";
      e.contract_end = start_day + 182;
      e.hours = 30;
      e.salary = Round(rng.Between(850, 1150), 10);
      e.salary_period = "month";
    } else if (!head) {
      e.contract_type = rng.Chance(0.8) ? "permanent" : "temporary";
      if (e.contract_type == "temporary")
        e.contract_end = start_day + (rng.Chance(0.5) ? 182 : 365);
      e.hours = e.employment_type == "part_time" ? (rng.Chance(0.5) ? 20 : 30) : 40;
      e.salary = Round(rng.Between(d.salary_lo, d.salary_hi) * e.hours / 40, 500);
    } else {
      e.contract_type = "permanent";
    }
    people.push_back(std::move(e));
    active.push_back(static_cast<int>(people.size()) - 1);
    return static_cast<int>(people.size()) - 1;
  }

  // The person who approves `e`'s time off and whom they report to.
  int ManagerOf(const Employee& e) const {
    if (!e.head) return departments[e.department].head;
    if (e.department == 0) return departments[1].head;  // the CEO asks People
    return departments[0].head;
  }
  std::string ManagerId(const Employee& e) const {
    return e.department == 0 && e.head ? std::string() : people[ManagerOf(e)].id;
  }

  json::object DepartmentJson(int dep) const {
    return IdName(departments[dep].id, departments[dep].def->name);
  }
  json::object OfficeJson(int office) const {
    return IdName(offices[office].id, offices[office].def->name);
  }

  json::object ContractJson(const Employee& e) const {
    json::object c{
        {"id", e.contract_id},
        {"employee_id", e.id},
        {"type", e.contract_type},
        {"start_date", FormatDate(e.contract_start)},
        {"end_date", e.contract_end ? json::value(FormatDate(*e.contract_end)) : nullptr},
        {"hours_per_week", e.hours},
        {"salary",
         json::object{{"amount", e.salary}, {"currency", "EUR"}, {"period", e.salary_period}}}};
    return c;
  }

  // ---- time ----

  int64_t OffsetMs(int office, int64_t utc_ms) const {
    return offices[office].def->standard_offset_ms + SummerShiftMs(utc_ms);
  }
  // Company time is the head office's (Madrid).
  int64_t LocalDay(int64_t utc_ms) const { return DayNumber(utc_ms + OffsetMs(0, utc_ms)); }
  int64_t LocalMinuteOfDay(int office, int64_t utc_ms) const {
    const int64_t local = utc_ms + OffsetMs(office, utc_ms);
    return (local - DayNumber(local) * kMsPerDay) / kMsPerMinute;
  }
  int64_t Today() const { return LocalDay(now_ms); }
  // 07:30 (plus a few minutes) company time on `day`.
  int64_t DayStartMs(int64_t day) {
    const int64_t local = day * kMsPerDay + 7 * kMsPerHour + 30 * kMsPerMinute;
    return local - OffsetMs(0, local) + rng.Between(0, 600) * 1000;
  }
  bool OnLeave(const Employee& e, int64_t day) const {
    for (auto [a, b] : e.leave)
      if (day >= a && day <= b) return true;
    return false;
  }

  void Schedule(int64_t due_ms, FollowUpKind kind, int employee) {
    follow_ups.push({due_ms, follow_up_seq++, kind, employee});
    ++people[employee].pending;
  }

  // ---- events ----

  SimEvent Event(std::string type, json::object data, const Employee& e) {
    return SimEvent{std::move(type), json::value(std::move(data)), now_ms, e.id, e.display};
  }

  SimEvent Next() {
    for (;;) {
      const int64_t candidate =
          now_ms +
          std::max<int64_t>(1000, static_cast<int64_t>(gap_mean_ms * rng.Uniform(0.25, 1.75)));
      if (!follow_ups.empty() && follow_ups.top().due_ms <= candidate) {
        FollowUp f = follow_ups.top();
        follow_ups.pop();
        now_ms = std::max(now_ms, f.due_ms);
        --people[f.employee].pending;
        return FollowUpEvent(f);
      }
      if (LocalMinuteOfDay(0, candidate) >= 19 * 60 + 30 || LocalDay(candidate) != Today()) {
        now_ms = DayStartMs(NextWeekday(Today() + 1));
        continue;
      }
      now_ms = candidate / 1000 * 1000;
      if (LocalDay(now_ms) != clock_day) {
        clock_day = LocalDay(now_ms);
        clocked_today = 0;
      }
      if (std::optional<SimEvent> e = Spontaneous()) return std::move(*e);
    }
  }

  std::optional<SimEvent> Spontaneous() {
    const double n = static_cast<double>(active.size());
    const int64_t hq_minute = LocalMinuteOfDay(0, now_ms);
    const bool morning = hq_minute >= 7 * 60 + 15 && hq_minute < 11 * 60;
    const double weights[] = {
        morning ? 30.0 * std::max(0.0, 1.0 - clocked_today / n) : 0.0,               // clock in
        n < target * 1.1 ? 0.3 + 4.0 * std::max(0.0, (target - n) / target) : 0.03,  // hire
        0.8,                             // time off request
        0.4,                             // contract change
        0.25,                            // department change
        n > target * 0.9 ? 0.12 : 0.01,  // leaver
        2.0,                             // nothing happens
    };
    switch (rng.Weighted(weights)) {
      case 0:
        return ClockIn();
      case 1:
        return Hire();
      case 2:
        return RequestTimeOff();
      case 3:
        return ChangeContract();
      case 4:
        return ChangeDepartment();
      case 5:
        return Leave();
      default:
        return std::nullopt;
    }
  }

  // A random active employee satisfying `ok`, or -1 after a few tries.
  template <class Pred>
  int Find(Pred ok) {
    for (int tries = 0; tries < 16; ++tries) {
      int idx = active[rng.Below(active.size())];
      if (ok(people[idx])) return idx;
    }
    return -1;
  }

  std::optional<SimEvent> ClockIn() {
    const int64_t today = Today();
    int idx = Find([&](const Employee& e) {
      const int64_t m = LocalMinuteOfDay(e.office, now_ms);
      return e.start_day <= today && e.last_clock_day != today && e.open_entry.empty() &&
             !OnLeave(e, today) && m >= 7 * 60 && m < 10 * 60 + 45;
    });
    if (idx < 0) return std::nullopt;
    Employee& e = people[idx];
    e.open_entry = fmt::format("te_{}", next_entry);
    next_entry += rng.Between(1, 40);
    e.open_source = std::string(kSources[rng.Weighted(kSourceWeights)]);
    e.open_at_ms = now_ms;
    e.last_clock_day = today;
    ++clocked_today;
    // Out after a full or a part-time shift, before 19:30 company time (when the simulated
    // day ends: the minute of margin covers the seconds added below).
    int64_t shift = e.hours >= 40 ? rng.Between(8 * 60, 9 * 60 + 30)
                                  : rng.Between(e.hours * 12 - 20, e.hours * 12 + 30);
    shift = std::min(shift, 19 * 60 + 30 - LocalMinuteOfDay(0, now_ms) - 2);
    Schedule(now_ms + shift * kMsPerMinute + rng.Between(0, 59) * 1000, FollowUpKind::kClockOut,
             idx);
    return Event("time_entry.clocked_in", EntryJson(e, now_ms, std::nullopt), e);
  }

  json::object EntryJson(const Employee& e, int64_t at_ms, std::optional<int64_t> worked) {
    json::object entry{{"id", e.open_entry},
                       {"employee_id", e.id},
                       {"at", FormatLocal(at_ms, OffsetMs(e.office, at_ms))},
                       {"source", e.open_source}};
    const OfficeDef& o = *offices[e.office].def;
    if (e.open_source == "kiosk") {
      entry["location"] = json::object{{"lat", o.lat}, {"lon", o.lon}};
    } else if (e.open_source == "mobile") {
      auto jitter = [&](double v) {
        return std::round((v + rng.Uniform(-0.01, 0.01)) * 10000) / 10000;
      };
      entry["location"] = json::object{{"lat", jitter(o.lat)}, {"lon", jitter(o.lon)}};
    }
    if (worked) entry["worked_minutes"] = *worked;
    return {{"entry", std::move(entry)}};
  }

  std::optional<SimEvent> Hire() {
    const int64_t start = NextWeekday(Today() + rng.Between(3, 25));
    int idx = NewPerson(PickHiringDepartment(), PickOffice(), false, start);
    Employee& e = people[idx];
    e.contract_announced = false;
    json::object employee{{"id", e.id},
                          {"first_name", e.first_name},
                          {"last_name", e.last_name},
                          {"email", e.email},
                          {"start_date", FormatDate(e.start_day)},
                          {"job_title", e.job_title},
                          {"department", DepartmentJson(e.department)},
                          {"office", OfficeJson(e.office)},
                          {"manager_id", ManagerId(e)},
                          {"employment_type", e.employment_type}};
    Schedule(now_ms + rng.Between(1, 20) * kMsPerMinute, FollowUpKind::kContractCreated, idx);
    Schedule(now_ms + rng.Between(15, 240) * kMsPerMinute, FollowUpKind::kOnboardingStarted, idx);
    return Event("employee.hired", {{"employee", std::move(employee)}}, e);
  }

  std::optional<SimEvent> RequestTimeOff() {
    const int64_t today = Today();
    int idx =
        Find([&](const Employee& e) { return e.start_day <= today && e.pending_request.empty(); });
    if (idx < 0) return std::nullopt;
    Employee& e = people[idx];
    std::string_view type = kTimeOffTypes[rng.Weighted(kTimeOffWeights)];
    const int64_t earliest = std::max(today, e.start_day);
    if (type == "sick" && e.start_day > today) type = "vacation";
    int64_t first = 0;
    int working_days = 1;
    double days = 1;
    std::optional<std::string_view> comment;
    if (type == "vacation") {
      first = NextWeekday(earliest + rng.Between(7, 90));
      working_days = static_cast<int>(rng.Between(1, 10));
      if (rng.Chance(0.8)) comment = rng.Pick<std::string_view>(kVacationComments);
    } else if (type == "personal") {
      first = NextWeekday(earliest + rng.Between(1, 20));
      if (rng.Chance(0.4)) days = 0.5;
      comment = rng.Pick<std::string_view>(kPersonalComments);
    } else if (type == "sick") {
      first = today;
      working_days = static_cast<int>(rng.Between(1, 3));
      if (rng.Chance(0.6)) comment = rng.Pick<std::string_view>(kSickComments);
    } else if (type == "parental") {
      first = NextWeekday(earliest + rng.Between(20, 60));
      working_days = 80;  // 16 weeks
      comment = "Permiso por nacimiento";
    } else {
      first = NextWeekday(earliest + rng.Between(2, 30));
      working_days = static_cast<int>(rng.Between(1, 2));
      comment = rng.Pick<std::string_view>(kOtherComments);
    }
    const int64_t last = AddWorkingDays(first, working_days);
    if (days != 0.5) days = working_days;
    for (auto [a, b] : e.leave)
      if (first <= b && last >= a) return std::nullopt;  // already off then
    e.pending_request = {{"id", fmt::format("tor_{}", next_request)},
                         {"employee_id", e.id},
                         {"type", type},
                         {"start_date", FormatDate(first)},
                         {"end_date", FormatDate(last)},
                         {"days", days == 0.5 ? json::value(0.5) : json::value(working_days)},
                         {"comment", comment ? json::value(*comment) : nullptr}};
    next_request += rng.Between(1, 30);
    const int64_t delay = type == "sick" ? rng.Between(5, 60) : rng.Between(10, 8 * 60);
    Schedule(now_ms + delay * kMsPerMinute, FollowUpKind::kReview, idx);
    return Event("time_off.requested", {{"request", e.pending_request}}, e);
  }

  std::optional<SimEvent> ChangeContract() {
    // Changes, moves and leavers concern people who have started (and whose contract was
    // announced).
    const int64_t today = Today();
    int idx = Find(
        [&](const Employee& e) { return e.start_day <= today && e.contract_announced && !e.head; });
    if (idx < 0) return std::nullopt;
    Employee& e = people[idx];
    json::array changes;
    auto change = [&](std::string_view field, json::value from, json::value to) {
      changes.push_back(
          json::object{{"field", field}, {"from", std::move(from)}, {"to", std::move(to)}});
    };
    const double r = rng.Unit();
    if (r < 0.25 && e.contract_type != "permanent") {  // conversion to a permanent contract
      change("type", json::value(e.contract_type), "permanent");
      change("end_date", json::value(FormatDate(*e.contract_end)), nullptr);
      e.contract_type = "permanent";
      e.contract_end.reset();
      if (e.salary_period == "month") {
        const DepartmentDef& d = *departments[e.department].def;
        const int64_t salary = Round(d.salary_lo + rng.Between(0, 4000), 500);
        change("hours_per_week", e.hours, 40);
        change("salary.amount", e.salary, salary);
        change("salary.period", "month", "year");
        e.hours = 40;
        e.salary = salary;
        e.salary_period = "year";
        e.employment_type = "full_time";
      }
    } else if (r < 0.4 && e.salary_period == "year") {  // more or fewer hours, pro rata
      const int hours = e.hours >= 40 ? 30 : std::min(40, e.hours + 10);
      const int64_t salary = Round(e.salary * hours / e.hours, 100);
      change("hours_per_week", e.hours, hours);
      change("salary.amount", e.salary, salary);
      e.employment_type = hours >= 40 ? "full_time" : "part_time";
      e.hours = hours;
      e.salary = salary;
    } else {  // a raise
      const int64_t step = e.salary_period == "month" ? 10 : 100;
      const int64_t salary = Round(static_cast<int64_t>(e.salary * rng.Uniform(1.02, 1.10)), step);
      change("salary.amount", e.salary, salary);
      e.salary = salary;
    }
    return Event("contract.updated",
                 {{"contract", ContractJson(e)}, {"changes", std::move(changes)}}, e);
  }

  std::optional<SimEvent> ChangeDepartment() {
    const int64_t today = Today();
    int idx = Find(
        [&](const Employee& e) { return e.start_day <= today && e.contract_announced && !e.head; });
    if (idx < 0) return std::nullopt;
    Employee& e = people[idx];
    const json::object from{{"department", DepartmentJson(e.department)},
                            {"office", OfficeJson(e.office)}};
    const double r = rng.Unit();
    bool moved = false;
    if (r < 0.75) {  // another department (and a matching job title)
      const int dep = PickHiringDepartment();
      if (dep != e.department) {
        e.department = dep;
        if (e.employment_type != "intern")
          e.job_title = std::string(rng.Pick(departments[dep].def->titles));
        else
          e.job_title = fmt::format("{} Intern", departments[dep].def->name);
        moved = true;
      }
    }
    if (r >= 0.6) {  // another office
      const int office = PickOffice();
      if (office != e.office) {
        e.office = office;
        moved = true;
      }
    }
    if (!moved) return std::nullopt;
    // From the 1st of next month, or in a week or two.
    std::chrono::year_month_day ymd{Day(today)};
    const int64_t effective =
        rng.Chance(0.5) ? sys_days{(ymd.year() / ymd.month() / 1) + std::chrono::months(1)}
                              .time_since_epoch()
                              .count()
                        : NextWeekday(today + rng.Between(3, 14));
    json::object data{{"employee", json::object{{"id", e.id}}},
                      {"from", from},
                      {"to", json::object{{"department", DepartmentJson(e.department)},
                                          {"office", OfficeJson(e.office)}}},
                      {"effective_date", FormatDate(effective)}};
    return Event("employee.department_changed", std::move(data), e);
  }

  std::optional<SimEvent> Leave() {
    const int64_t today = Today();
    int idx = Find([&](const Employee& e) {
      return e.start_day <= today && !e.head && e.pending == 0 && e.open_entry.empty() &&
             e.pending_request.empty();
    });
    if (idx < 0) return std::nullopt;
    Employee& e = people[idx];
    e.active = false;
    active.erase(std::find(active.begin(), active.end(), idx));
    const int64_t effective = NextWeekday(today + rng.Between(0, 30));
    json::object data{{"employee", json::object{{"id", e.id},
                                                {"first_name", e.first_name},
                                                {"last_name", e.last_name},
                                                {"email", e.email}}},
                      {"reason", rng.Chance(0.85) ? "deactivated" : "deleted"},
                      {"effective_date", FormatDate(effective)}};
    return Event("employee.left", std::move(data), e);
  }

  SimEvent FollowUpEvent(const FollowUp& f) {
    Employee& e = people[f.employee];
    switch (f.kind) {
      case FollowUpKind::kContractCreated:
        e.contract_announced = true;
        return Event("contract.created", {{"contract", ContractJson(e)}}, e);
      case FollowUpKind::kOnboardingStarted: {
        e.onboarding_id = fmt::format("onb_{}", next_onboarding);
        next_onboarding += rng.Between(1, 12);
        e.onboarding_template = std::string(departments[e.department].def->onboarding_template);
        e.tasks_total = rng.Between(8, 16);
        Schedule(now_ms + rng.Between(2 * 60, 30 * 60) * kMsPerMinute,
                 FollowUpKind::kOnboardingCompleted, f.employee);
        return Event("onboarding.started", OnboardingJson(e, 0), e);
      }
      case FollowUpKind::kOnboardingCompleted:
        return Event("onboarding.completed", OnboardingJson(e, e.tasks_total), e);
      case FollowUpKind::kClockOut: {
        const int64_t elapsed = (now_ms - e.open_at_ms) / kMsPerMinute;
        const int64_t pause =
            elapsed >= 6 * 60 ? 30 + 15 * static_cast<int64_t>(rng.Below(3)) : 0;  // lunch
        if (rng.Chance(0.3)) e.open_source = std::string(kSources[rng.Weighted(kSourceWeights)]);
        SimEvent ev = Event("time_entry.clocked_out", EntryJson(e, now_ms, elapsed - pause), e);
        e.open_entry.clear();
        return ev;
      }
      case FollowUpKind::kReview: {
        json::object request = std::move(e.pending_request);
        e.pending_request = {};
        const std::string_view type = request["type"].as_string();
        const bool approve = type == "sick" || type == "parental" || rng.Chance(0.8);
        const Employee& reviewer = people[ManagerOf(e)];
        json::value comment = nullptr;
        if (approve) {
          e.leave.emplace_back(DayNumber(*ParseDateMs(request["start_date"].as_string())),
                               DayNumber(*ParseDateMs(request["end_date"].as_string())));
          if (type == "sick")
            comment = "¡Que te mejores!";
          else if (rng.Chance(0.6))
            comment = rng.Pick<std::string_view>(std::span(kApprovedComments, 3));
        } else {
          comment = rng.Pick<std::string_view>(kRejectedComments);
        }
        json::object data{
            {"request", std::move(request)},
            {"reviewer", IdName(reviewer.id, reviewer.first_name + " " + reviewer.last_name)},
            {"comment", std::move(comment)}};
        return Event(approve ? "time_off.approved" : "time_off.rejected", std::move(data), e);
      }
    }
    std::abort();  // unreachable: every kind is handled above
  }

  json::object OnboardingJson(const Employee& e, int64_t done) const {
    return {{"process", json::object{{"id", e.onboarding_id},
                                     {"employee_id", e.id},
                                     {"template", e.onboarding_template},
                                     {"tasks_total", e.tasks_total},
                                     {"tasks_done", done}}}};
  }
};

HrSimulator::HrSimulator(const Config& config) : state_(std::make_unique<State>(config)) {}
HrSimulator::~HrSimulator() = default;
HrSimulator::HrSimulator(HrSimulator&&) noexcept = default;
HrSimulator& HrSimulator::operator=(HrSimulator&&) noexcept = default;
SimEvent HrSimulator::Next() { return state_->Next(); }
size_t HrSimulator::Headcount() const { return state_->active.size(); }
const std::string& HrSimulator::EmailDomain() const { return state_->domain; }

json::value SimEventRequestBody(const SimEvent& e) {
  return json::object{
      {"type", e.type}, {"data", e.data}, {"occurred_at", FormatTime(e.occurred_at_ms)}};
}

// ---- the paced loop ------------------------------------------------------------------------

Pacer::Pacer(double events_per_second, int64_t start_us, int64_t max_lag_us)
    : us_per_event_(1e6 / events_per_second), start_us_(start_us), max_lag_us_(max_lag_us) {}

int64_t Pacer::DueUs(uint64_t sent) const {
  return start_us_ + std::llround(static_cast<double>(sent) * us_per_event_);
}

void Pacer::CatchUp(uint64_t sent, int64_t now_us) {
  const int64_t lag = now_us - DueUs(sent);
  if (lag > max_lag_us_) start_us_ += lag - max_lag_us_;
}

std::string FormatProgress(const SimulateCounters& c, double elapsed_s) {
  std::string s =
      fmt::format("sent {} · accepted {} · rejected {} · {:.1f}/s", c.sent, c.accepted, c.rejected,
                  elapsed_s > 0 ? static_cast<double>(c.sent) / elapsed_s : 0.0);
  if (!c.last_type.empty()) s += fmt::format(" · last {} ({})", c.last_type, c.last_name);
  return s;
}

namespace {

size_t CurlWriteBody(char* p, size_t size, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}

size_t CurlWriteHeader(char* p, size_t size, size_t n, void* ud) {
  std::string_view line(p, size * n);
  auto* r = static_cast<PostResult*>(ud);
  if (line.starts_with("HTTP/")) r->retry_after_s.reset();  // a new response (after 100 Continue)
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string name(line.substr(0, kName.size()));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == kName) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      if (auto s = ParseUnsigned(v); s && *s < 86400) r->retry_after_s = static_cast<int64_t>(*s);
    }
  }
  return size * n;
}

class CurlPoster final : public EventPoster {
 public:
  CurlPoster(std::string base_url, std::string token)
      : base_(std::move(base_url)),
        auth_("Authorization: Bearer " + token),
        curl_(curl_easy_init()) {}
  ~CurlPoster() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  CurlPoster(const CurlPoster&) = delete;
  CurlPoster& operator=(const CurlPoster&) = delete;

  Result<PostResult> Post(const std::string& path, const std::string& body,
                          const std::string& idempotency_key) override {
    if (curl_ == nullptr) return MakeError(ErrorCode::kUnavailable, "cannot initialise libcurl");
    PostResult r;
    const std::string url = base_ + path;
    const std::string key = "Idempotency-Key: " + idempotency_key;
    curl_slist* hs = nullptr;
    for (const char* h : {"Content-Type: application/json", "Accept: application/json", "Expect:"})
      hs = curl_slist_append(hs, h);
    hs = curl_slist_append(hs, auth_.c_str());
    hs = curl_slist_append(hs, key.c_str());
    char error[CURL_ERROR_SIZE] = "";
    // The handle keeps its connection between calls (keep-alive).
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "hookd-simulate/" HOOKD_VERSION);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, CurlWriteBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, CurlWriteHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(hs);
    if (rc != CURLE_OK)
      return MakeError(ErrorCode::kUnavailable,
                       error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc));
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  std::string base_;
  std::string auth_;
  CURL* curl_;
};

std::string StringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// "422 Validation failed: /data/employee/email: must match …", from a problem+json answer.
std::string DescribeRejection(const PostResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.get_object();
    std::string s = fmt::format("{} {}", r.status, StringMember(o, "title"));
    if (std::string detail = StringMember(o, "detail"); !detail.empty()) s += ": " + detail;
    if (const json::value* errs = o.if_contains("errors");
        errs && errs->is_array() && errs->get_array().size() > 1) {
      size_t shown = 0;
      for (const json::value& e : errs->get_array()) {
        if (!e.is_object() || shown == 5) break;
        s += fmt::format("\n  {}: {}", StringMember(e.get_object(), "pointer"),
                         StringMember(e.get_object(), "message"));
        ++shown;
      }
    }
    return s;
  }
  std::string body = r.body.substr(0, 300);
  std::replace(body.begin(), body.end(), '\n', ' ');
  return fmt::format("HTTP {}: {}", r.status, body.empty() ? "(empty body)" : body);
}

bool Transient(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}
bool Fatal(long status) { return status == 401 || status == 403 || status == 404; }

std::string FormatSeconds(double s) { return fmt::format("{:.1f}s", s); }

}  // namespace

std::unique_ptr<EventPoster> MakeCurlPoster(std::string base_url, std::string token) {
  return std::make_unique<CurlPoster>(std::move(base_url), std::move(token));
}

SimulateResult RunSimulation(const SimulateOptions& opt, HrSimulator& sim, EventPoster& poster,
                             const SimulateEnv& env) {
  SimulateResult res;
  SimulateCounters& c = res.counters;
  const int64_t start = env.now_us();
  Pacer pacer(opt.rate, start);
  int64_t last_progress = start;
  bool answered = false;  // hookd answered once: from then on a transport error is retried
  const std::string events_path = "/v1/companies/" + opt.company.str() + "/events";
  const std::string path = opt.batch > 1 ? events_path + "/batch" : events_path;
  auto wait_until = [&](int64_t t) {
    while (!env.interrupted() && env.now_us() < t) env.sleep_until_us(t);
    return !env.interrupted();
  };

  // The rate shown is over the time the events sent so far take at the chosen rate, at least:
  // 40 events at 50/s took 0.8 s, even though the 40th went out at 0.78 s.
  auto rate_elapsed_s = [&](int64_t now) {
    return static_cast<double>(std::max(now, pacer.DueUs(c.sent)) - start) / 1e6;
  };
  bool finished = false;  // by --events or --duration
  for (;;) {
    if (opt.max_events && c.sent >= *opt.max_events) {
      res.stop_reason = fmt::format("--events {} sent", *opt.max_events);
      finished = true;
      break;
    }
    const int64_t due = pacer.DueUs(c.sent);
    if (opt.duration_ms && due - start >= *opt.duration_ms * 1000) {
      res.stop_reason = fmt::format("--duration {} over", FormatSeconds(*opt.duration_ms / 1000.0));
      finished = true;
      break;
    }
    if (!wait_until(due)) {
      res.stop_reason = "interrupted";
      break;
    }

    uint64_t n = opt.batch;
    if (opt.max_events) n = std::min<uint64_t>(n, *opt.max_events - c.sent);
    std::vector<SimEvent> events;
    events.reserve(n);
    for (uint64_t i = 0; i < n; ++i) events.push_back(sim.Next());
    std::string body;
    if (opt.batch > 1) {
      json::array arr;
      for (const SimEvent& e : events) arr.push_back(SimEventRequestBody(e));
      body = json::serialize(arr);
    } else {
      body = json::serialize(SimEventRequestBody(events[0]));
    }
    const std::string key = fmt::format("sim-{}-{}", env.run_id, c.sent + 1);

    // Send; retry with the same key what may pass later.
    const int64_t first_try = env.now_us();
    int64_t backoff_us = 100'000;
    bool told = false;
    std::optional<PostResult> answer;
    std::string transport_error;
    bool interrupted = false;
    for (;;) {
      Result<PostResult> r = poster.Post(path, body, key);
      if (r) {
        answered = true;
        answer = std::move(*r);
        if (!Transient(answer->status)) break;
      } else {
        answer.reset();
        transport_error = r.error().message;
        if (!answered) break;  // the first request: most likely a wrong --url, say so now
      }
      int64_t wait = backoff_us;
      if (answer && answer->retry_after_s)
        wait = std::min<int64_t>(*answer->retry_after_s * 1'000'000, 5'000'000);
      backoff_us = std::min<int64_t>(backoff_us * 2, 2'000'000);
      if (env.now_us() + wait - first_try > kRetryWindowUs) break;
      if (!told) {
        env.progress(
            answer
                ? fmt::format("hookd answered {}; retrying for up to 30s", answer->status)
                : fmt::format("hookd unreachable ({}); retrying for up to 30s", transport_error));
        told = true;
      }
      if (!wait_until(env.now_us() + wait)) {
        interrupted = true;
        break;
      }
    }
    if (interrupted) {
      res.stop_reason = "interrupted";
      break;
    }
    if (!answer) {
      res.unreachable = transport_error;
      res.stop_reason = "hookd unreachable";
      break;
    }

    c.sent += n;
    if (answer->status >= 200 && answer->status < 300) {
      c.accepted += n;
      for (const SimEvent& e : events) ++c.accepted_by_type[e.type];
      c.last_type = events.back().type;
      c.last_name = events.back().employee_name;
    } else {
      c.rejected += n;
      if (res.first_problem.empty()) res.first_problem = DescribeRejection(*answer);
      if (Fatal(answer->status)) {
        res.stop_reason = fmt::format(
            "hookd refused the request with {}: check --token (a company token with the publish "
            "scope) and --company",
            answer->status);
        break;
      }
    }
    const int64_t now = env.now_us();
    pacer.CatchUp(c.sent, now);
    if (now - last_progress >= 1'000'000) {
      env.progress(FormatProgress(c, rate_elapsed_s(now)));
      last_progress = now;
    }
  }
  res.elapsed_s =
      finished ? rate_elapsed_s(env.now_us()) : static_cast<double>(env.now_us() - start) / 1e6;
  res.exit_code = !res.unreachable.empty() ? kSimulateExitUnreachable
                  : c.rejected > 0         ? kSimulateExitRejected
                                           : kSimulateExitOk;
  return res;
}

std::string FormatSummary(const SimulateOptions& o, const SimulateResult& r) {
  const SimulateCounters& c = r.counters;
  std::string s =
      fmt::format("sent {} · accepted {} · rejected {}", c.sent, c.accepted, c.rejected);
  if (r.elapsed_s >= 0.1)  // a rate over a few milliseconds means nothing
    s += fmt::format(" · {:.1f}/s over {}", static_cast<double>(c.sent) / r.elapsed_s,
                     FormatSeconds(r.elapsed_s));
  s += fmt::format(" ({})\n", r.stop_reason);
  if (!c.accepted_by_type.empty()) {
    std::vector<std::pair<std::string, uint64_t>> types(c.accepted_by_type.begin(),
                                                        c.accepted_by_type.end());
    std::stable_sort(types.begin(), types.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string list;
    for (const auto& [type, n] : types)
      list += fmt::format("{}{} {}", list.empty() ? "" : ", ", type, n);
    s += fmt::format("accepted by type: {}\n", list);
  }
  if (c.sent > 0)
    s += fmt::format("replay: --seed {} --start {} --employees {}\n", o.seed,
                     FormatDate(DayNumber(o.start_day_ms)), o.employees);
  return s;
}

// ---- the command ----------------------------------------------------------------------------

namespace {

constexpr std::string_view kSimulateHelp = R"(
Publishes a believable stream of HR activity for one company to a running hookd, at --rate
events per second: for demos (watch deliveries arrive at your endpoints) and load tests.

The simulated company starts with --employees people (Spanish and other European names) in
departments with their heads and offices in Spain and Lisbon, and lives through working days:
  employee.hired, then contract.created and onboarding.started, later onboarding.completed
  time_entry.clocked_in in the morning, time_entry.clocked_out with worked_minutes later
  time_off.requested, then time_off.approved or time_off.rejected by the manager
  contract.updated (raises, hours, permanent contracts), employee.department_changed,
  employee.left
One employee's events come in a sensible order: hired before anything else, clock-in before
clock-out, request before review, nothing after leaving. Simulated time runs faster than the
clock (a working day holds about 2 events per employee); occurred_at and every date follow
it, from --start on. Hires, leavers and contract changes come far more often than in a real
company, so that a short demo shows every kind of event. Emails are on .example domains:
nothing sent to them reaches anyone.

Each event is one POST /v1/companies/{id}/events (with --batch N, N events per POST
…/events/batch) with its own Idempotency-Key: a request retried after a network error or a
503 is never accepted twice. The same --seed, --start and --employees give the same events.

Example:
  export HOOKD_TOKEN=hkd_...     # a company token with the publish scope
  hookd simulate --url http://127.0.0.1:8080 --company co_01JD... --rate 5 --duration 60s --seed 42
  sent 120 · accepted 120 · rejected 0 · 5.0/s · last employee.hired (Lucía García)

Without --duration or --events it runs until Ctrl-C. Progress goes to stderr once a second
(one line rewritten in place on a terminal); the summary goes to stdout.

Exit status: 0 every event accepted; 1 some rejected (the first problem is printed on
stderr); 2 usage error; 3 hookd unreachable.)";

volatile std::sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

int64_t MonotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Characters, not bytes: the line holds '·' and accented names.
size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char ch : s)
    if ((ch & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

Result<SimulateOptions> ResolveSimulateFlags(const SimulateFlags& f, uint64_t random_seed,
                                             int64_t now_ms) {
  SimulateOptions o;
  if (f.token.empty())
    return Usage(
        fmt::format("no token: pass --token or set {} (a company token with the publish scope)",
                    kSimulateTokenEnv));
  o.token = f.token;
  if (f.company.empty())
    return Usage(fmt::format("no company: pass --company co_… or set {}", kSimulateCompanyEnv));
  std::optional<CompanyId> company = CompanyId::Parse(f.company);
  if (!company)
    return Usage(
        fmt::format("--company \"{}\" is not a company id (co_ and 26 characters, as POST "
                    "/v1/companies answers)",
                    f.company));
  o.company = *company;

  auto url = boost::urls::parse_absolute_uri(f.url);
  if (!url ||
      (url->scheme_id() != boost::urls::scheme::http &&
       url->scheme_id() != boost::urls::scheme::https) ||
      url->encoded_host().empty() || url->has_query() || url->has_fragment() || url->has_userinfo())
    return Usage(
        fmt::format("--url \"{}\" is not hookd's base URL, like http://127.0.0.1:8080", f.url));
  o.base_url = f.url;
  while (o.base_url.ends_with('/')) o.base_url.pop_back();

  std::optional<double> rate = ParseNumber(f.rate);
  if (!rate || *rate <= 0 || *rate > kSimulateMaxRate)
    return Usage(
        fmt::format("--rate \"{}\" must be a number of events per second, above 0 and at most {}",
                    f.rate, kSimulateMaxRate));
  o.rate = *rate;

  if (!f.duration.empty() && !f.events.empty())
    return Usage("give --duration or --events, not both");
  if (!f.duration.empty()) {
    std::optional<int64_t> ms = ParseDurationMs(f.duration);
    if (!ms || *ms <= 0)
      return Usage(
          fmt::format("--duration \"{}\" is not a duration like 30s, 5m or 2h", f.duration));
    o.duration_ms = *ms;
  }
  if (!f.events.empty()) {
    std::optional<uint64_t> n = ParseUnsigned(f.events);
    if (!n || *n == 0)
      return Usage(fmt::format("--events \"{}\" must be a count of 1 or more", f.events));
    o.max_events = *n;
  }

  if (f.seed.empty()) {
    o.seed = random_seed;
  } else if (std::optional<uint64_t> seed = ParseUnsigned(f.seed)) {
    o.seed = *seed;
  } else {
    return Usage(fmt::format("--seed \"{}\" must be a whole number (0 to 2^64-1)", f.seed));
  }

  std::optional<uint64_t> batch = ParseUnsigned(f.batch);
  if (!batch || *batch < 1 || *batch > kSimulateMaxBatch)
    return Usage(fmt::format("--batch \"{}\" must be from 1 to {} events per request", f.batch,
                             kSimulateMaxBatch));
  o.batch = *batch;

  std::optional<uint64_t> employees = ParseUnsigned(f.employees);
  if (!employees || *employees < static_cast<uint64_t>(kSimulateMinEmployees) ||
      *employees > static_cast<uint64_t>(kSimulateMaxEmployees))
    return Usage(fmt::format("--employees \"{}\" must be from {} to {}", f.employees,
                             kSimulateMinEmployees, kSimulateMaxEmployees));
  o.employees = static_cast<int>(*employees);

  if (f.start.empty()) {
    o.start_day_ms = DayNumber(now_ms) * kMsPerDay;
  } else if (std::optional<int64_t> day = ParseDateMs(f.start)) {
    o.start_day_ms = *day;
  } else {
    return Usage(fmt::format("--start \"{}\" is not a date like 2026-11-26", f.start));
  }
  return o;
}

void AddSimulateFlags(CLI::App& cmd, SimulateFlags& f) {
  cmd.add_option("--url", f.url, "hookd's base URL")
      ->type_name("URL")
      ->envname(std::string(kSimulateUrlEnv))
      ->capture_default_str();
  cmd.add_option("--company", f.company, "the company to publish for")
      ->type_name("co_…")
      ->envname(std::string(kSimulateCompanyEnv));
  cmd.add_option("--token", f.token,
                 "a company token with the publish scope; better set it in the environment")
      ->type_name("hkd_…")
      ->envname(std::string(kSimulateTokenEnv));
  cmd.add_option("--rate", f.rate, "events per second (fractions allowed)")
      ->type_name("N")
      ->capture_default_str();
  cmd.add_option("--duration", f.duration, "stop after this long: 30s, 5m, 2h")
      ->type_name("DURATION");
  cmd.add_option("--events", f.events, "stop after this many events")->type_name("N");
  cmd.add_option("--seed", f.seed, "repeat a run (default: random; the summary prints it)")
      ->type_name("N");
  cmd.add_option("--batch", f.batch, "events per request, 1 to 500 (above 1: POST …/events/batch)")
      ->type_name("N")
      ->capture_default_str();
  cmd.add_option("--employees", f.employees, "headcount of the simulated company at the start")
      ->type_name("N")
      ->capture_default_str();
  cmd.add_option("--start", f.start, "the first simulated day (default: today, UTC)")
      ->type_name("YYYY-MM-DD");
  cmd.footer(std::string(kSimulateHelp));
}

int RunSimulate(const SimulateFlags& flags) {
  std::random_device rd;
  const uint64_t random_seed = (static_cast<uint64_t>(rd()) << 32 | rd()) % 1'000'000;
  Result<SimulateOptions> opts = ResolveSimulateFlags(flags, random_seed, NowMs());
  if (!opts) {
    fmt::print(stderr, "hookd simulate: {}\nRun 'hookd simulate --help' for the flags.\n",
               opts.error().message);
    return kSimulateExitUsage;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  HrSimulator sim({opts->seed, opts->employees, opts->start_day_ms});
  std::unique_ptr<EventPoster> poster = MakeCurlPoster(opts->base_url, opts->token);

  // Ctrl-C (or SIGTERM) ends the run after the request in flight; a second one kills.
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  struct sigaction old_int {
  }, old_term{};
  g_interrupted = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  const bool tty = isatty(STDERR_FILENO) == 1;
  size_t shown = 0;  // width of the progress line on the terminal
  SimulateEnv env;
  env.now_us = MonotonicUs;
  env.sleep_until_us = [](int64_t t) {
    const int64_t d = std::min<int64_t>(t - MonotonicUs(), 100'000);  // wake up for Ctrl-C
    if (d <= 0) return;
    timespec ts{static_cast<time_t>(d / 1'000'000), static_cast<long>(d % 1'000'000 * 1000)};
    nanosleep(&ts, nullptr);
  };
  env.interrupted = [] { return g_interrupted != 0; };
  env.progress = [&](const std::string& line) {
    if (tty) {
      const size_t width = DisplayWidth(line);
      std::string out = "\r" + line;
      if (width < shown) out.append(shown - width, ' ');
      shown = width;
      std::fputs(out.c_str(), stderr);
    } else {
      fmt::print(stderr, "{}\n", line);
    }
    std::fflush(stderr);
  };
  env.run_id = NewUlid();

  std::string stop = opts->max_events ? fmt::format(" for {} events", *opts->max_events)
                     : opts->duration_ms
                         ? fmt::format(" for {}", FormatSeconds(*opts->duration_ms / 1000.0))
                         : std::string(" until Ctrl-C");
  fmt::print(stderr, "hookd simulate: {} employees at {}, {:g} events/s to {} for company {}{}{}\n",
             opts->employees, sim.EmailDomain(), opts->rate, opts->base_url, opts->company.str(),
             opts->batch > 1 ? fmt::format(" in batches of {}", opts->batch) : "", stop);
  std::fflush(stderr);

  SimulateResult r = RunSimulation(*opts, sim, *poster, env);
  if (tty && shown > 0) std::fputs("\n", stderr);
  if (!r.unreachable.empty())
    fmt::print(stderr, "hookd simulate: hookd is unreachable at {}: {}\n", opts->base_url,
               r.unreachable);
  if (!r.first_problem.empty())
    fmt::print(stderr, "hookd simulate: first rejection: {}\n", r.first_problem);
  std::fflush(stderr);
  fmt::print("{}", FormatSummary(*opts, r));
  std::fflush(stdout);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return r.exit_code;
}

}  // namespace hookd
