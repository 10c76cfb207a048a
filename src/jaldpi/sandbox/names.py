"""Modest regional name lists for synthetic people and places.

Everything here is invented for the sandbox: person names are common given names and surnames combined at random,
place names are common regional stems and suffixes combined at random. A name that happens to match a real person or
village is a coincidence; synthetic villages are also marked ``{"synthetic": true}`` and carry LGD codes from
9,000,000 up, which no real village has.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    surname_first: bool  # Telugu usage: "Banoth Ramesh"
    female_suffix: str | None  # Hindi-belt usage: "Sunita Devi"
    place_stems: tuple[str, ...]
    place_suffixes: tuple[str, ...]
    hamlet_patterns: tuple[str, ...]  # {v} is the village name
    social_weights: tuple[float, float, float, float, float]  # sc, st, obc, general, other
    agency: str  # the implementing agency's usual name
    shg_pattern: str  # {n} is a name


TELUGU = Region(
    name="telugu",
    male=("Venkatesh", "Srinivas", "Ramesh", "Narsimha", "Yadagiri", "Mallesh", "Anjaiah", "Ramulu", "Balaiah",
          "Krishna", "Raju", "Shankar", "Sailu", "Ravi", "Praveen", "Mahesh", "Kumar", "Laxman", "Saidulu",
          "Yellaiah", "Komuraiah", "Buchaiah", "Odelu", "Mogulaiah", "Narayana", "Suresh", "Srikanth", "Naresh",
          "Rajesh", "Venkanna", "Lingaiah", "Chandraiah", "Bhaskar", "Sathaiah", "Ashok", "Kishan", "Hanmanthu",
          "Rajaiah", "Sambaiah", "Devender"),
    female=("Lakshmi", "Saroja", "Padma", "Sujatha", "Anjamma", "Yadamma", "Mallamma", "Bharathi", "Swapna",
            "Manjula", "Kavitha", "Renuka", "Sunitha", "Jyothi", "Sandhya", "Rajitha", "Pushpa", "Sammakka",
            "Ellamma", "Balamma", "Vijaya", "Radha", "Sridevi", "Shobha", "Aruna", "Swarupa", "Laxmamma",
            "Pochamma", "Rama", "Sharada"),
    surnames=("Reddy", "Rao", "Goud", "Yadav", "Naik", "Banoth", "Bhukya", "Guguloth", "Kurma", "Chary", "Gundla",
              "Bandari", "Gajula", "Pittala", "Boda", "Dasari", "Kasarla", "Mekala", "Pulla", "Ediga", "Thota",
              "Kommu", "Vemula", "Jangili", "Bollam", "Perka", "Mamidi", "Nalla", "Kanneboina", "Oruganti"),
    surname_first=True,
    female_suffix=None,
    place_stems=("Rama", "Krishna", "Venkata", "Lakshmi", "Gopal", "Narsa", "Malla", "Kotha", "Chinna", "Pedda",
                 "Nalla", "Erra", "Yella", "Siddi", "Bhupal", "Konda", "Mamidi", "Velga", "Gangi", "Anantha",
                 "Raghu", "Sita", "Jangam", "Gudi", "Thimma", "Pochamma", "Ippa", "Vemu", "Tekula", "Mulka",
                 "Bheema", "Ravula", "Dharma", "Kesava", "Allapur", "Sanga"),
    place_suffixes=("pally", "palle", "gudem", "peta", "pur", "abad", "konda", "wada", "nagar", "cheruvu",
                    "kunta", "guda", "puram", "varam", "thanda", "kal", "pad", "gutta"),
    hamlet_patterns=("{v} Thanda", "{v} SC Colony", "{v} BC Colony", "Kotha {v}", "{v} Gudem", "Chinna {v}"),
    social_weights=(0.17, 0.10, 0.52, 0.18, 0.03),
    agency="RWS&S Division (Mission Bhagiratha)",
    shg_pattern="{n} Mahila Sangham",
)

HINDI = Region(
    name="hindi",
    male=("Ram Prasad", "Rajesh", "Suresh", "Mukesh", "Ramesh", "Dinesh", "Sunil", "Anil", "Santosh", "Rakesh",
          "Manoj", "Vijay", "Ashok", "Shyam Lal", "Rambabu", "Kamlesh", "Brijesh", "Om Prakash", "Jagdish",
          "Harish", "Ramesh Chandra", "Shiv Kumar", "Raj Kumar", "Bhola", "Mahendra", "Devendra", "Laxman",
          "Sanjay", "Pappu", "Ramkishan"),
    female=("Sunita", "Geeta", "Savitri", "Kamla", "Sita", "Rekha", "Anita", "Pushpa", "Urmila", "Meena", "Rani",
            "Suman", "Radha", "Kiran", "Mamta", "Poonam", "Sarita", "Shanti", "Lalita", "Kusum", "Manju",
            "Guddi", "Asha", "Saroj", "Pinki"),
    surnames=("Kumar", "Singh", "Yadav", "Prasad", "Sharma", "Verma", "Gupta", "Maurya", "Patel", "Kushwaha",
              "Pal", "Chauhan", "Ram", "Mishra", "Tiwari", "Pandey", "Rajbhar", "Nishad", "Saroj", "Meena",
              "Jatav", "Lodhi", "Sahu", "Rawat", "Prajapati"),
    surname_first=False,
    female_suffix="Devi",
    place_stems=("Ram", "Shiv", "Kishan", "Sultan", "Fateh", "Bhawani", "Lal", "Ganga", "Chandra", "Madho",
                 "Sher", "Hasan", "Bhagwan", "Kesho", "Mohan", "Narayan", "Dev", "Hari", "Sarai", "Bakhsh",
                 "Kalyan", "Dhani", "Gopal", "Sita", "Rasul", "Jagdish", "Bishun", "Amar"),
    place_suffixes=("pur", "ganj", "garh", "nagar", "pur Khurd", "pur Kalan", "abad", "gaon", "tola", "hat",
                    "pura", "khera", "wali", "sar", "dih"),
    hamlet_patterns=("{v} Tola", "{v} Purwa", "Majra {v}", "{v} Dhani", "Naya {v}", "{v} Basti"),
    social_weights=(0.21, 0.08, 0.45, 0.23, 0.03),
    agency="PHED Division",
    shg_pattern="{n} Mahila Swayam Sahayata Samooh",
)

GENERIC = Region(
    name="generic",
    male=("Rajesh", "Suresh", "Ramesh", "Anil", "Sunil", "Vijay", "Ashok", "Mohan", "Ravi", "Prakash", "Santosh",
          "Ganesh", "Mahesh", "Kumar", "Arun", "Manoj", "Dilip", "Sanjay", "Babu", "Raju"),
    female=("Lakshmi", "Sunita", "Geeta", "Anita", "Meena", "Radha", "Kavita", "Rekha", "Savita", "Usha",
            "Shanti", "Pushpa", "Asha", "Kamala", "Rani", "Jyoti", "Manju", "Sarita", "Nirmala", "Parvati"),
    surnames=("Kumar", "Singh", "Das", "Patil", "Rao", "Nair", "Sahu", "Patel", "Devi", "Pillai", "Mondal",
              "Naik", "Jadhav", "Behera", "Gowda", "Sharma", "Yadav", "Reddy", "Pawar", "Pradhan"),
    surname_first=False,
    female_suffix=None,
    place_stems=("Rama", "Krishna", "Shiva", "Ganga", "Lakshmi", "Hari", "Deva", "Chandra", "Narayan", "Gopal",
                 "Sundar", "Mohan", "Bhima", "Kesav", "Madhav", "Durga", "Kali", "Surya"),
    place_suffixes=("pur", "nagar", "gaon", "palli", "wadi", "garh", "halli", "puram", "pada", "ganj"),
    hamlet_patterns=("{v} Colony", "{v} Tola", "Naya {v}", "{v} Wadi", "{v} Pada"),
    social_weights=(0.17, 0.09, 0.42, 0.29, 0.03),
    agency="Rural Water Supply Division",
    shg_pattern="{n} Self-Help Group",
)

# LGD state codes (equal to Census 2011 codes) to regions.
REGION_OF_STATE: dict[int, Region] = {
    36: TELUGU, 28: TELUGU,
    9: HINDI, 10: HINDI, 23: HINDI, 8: HINDI, 20: HINDI, 22: HINDI, 6: HINDI, 5: HINDI, 2: HINDI, 7: HINDI,
}

# Rough bounding boxes (min lon, min lat, max lon, max lat) used to place synthetic villages; India otherwise.
STATE_BOXES: dict[int, tuple[float, float, float, float]] = {
    36: (77.3, 16.0, 81.2, 19.8),  # Telangana
    28: (77.0, 13.0, 84.5, 18.8),  # Andhra Pradesh
    9: (77.3, 24.0, 84.5, 30.2),  # Uttar Pradesh
    10: (83.5, 24.4, 88.1, 27.4),  # Bihar
    23: (74.2, 21.2, 82.7, 26.8),  # Madhya Pradesh
    8: (69.6, 23.1, 78.2, 30.1),  # Rajasthan
    27: (72.7, 16.0, 80.8, 22.0),  # Maharashtra
    29: (74.2, 11.7, 78.5, 18.4),  # Karnataka
    33: (76.3, 8.2, 80.3, 13.5),  # Tamil Nadu
    32: (74.9, 8.3, 77.4, 12.7),  # Kerala
    21: (81.4, 17.9, 87.4, 22.5),  # Odisha
    24: (68.3, 20.2, 74.4, 24.7),  # Gujarat
    19: (86.0, 21.6, 89.8, 27.2),  # West Bengal
    20: (83.3, 21.9, 87.9, 25.3),  # Jharkhand
    22: (80.3, 17.8, 84.3, 24.1),  # Chhattisgarh
    37: (75.3, 32.3, 79.9, 35.6),  # Ladakh
}
INDIA_BOX = (72.0, 12.0, 86.0, 28.0)


def region_for(state_code: int) -> Region:
    return REGION_OF_STATE.get(state_code, GENERIC)


class NameBook:
    """Draws person and place names for one region from a seeded RNG."""

    def __init__(self, region: Region, rng: random.Random) -> None:
        self.region = region
        self.rng = rng

    def person(self, gender: str) -> str:
        r, rng = self.region, self.rng
        given = rng.choice(r.female if gender == "female" else r.male)
        if gender == "female" and r.female_suffix and rng.random() < 0.6:
            return f"{given} {r.female_suffix}"
        surname = rng.choice(r.surnames)
        return f"{surname} {given}" if r.surname_first else f"{given} {surname}"

    def place(self, taken: set[str]) -> str:
        r, rng = self.region, self.rng
        for _ in range(50):
            stem, suffix = rng.choice(r.place_stems), rng.choice(r.place_suffixes)
            name = f"{stem} {suffix}" if suffix[0].isupper() else stem + suffix
            name = name[0].upper() + name[1:]
            if name not in taken:
                taken.add(name)
                return name
        name = f"{rng.choice(r.place_stems)}{rng.choice(r.place_suffixes)} {len(taken) + 1}"
        taken.add(name)
        return name

    def hamlet(self, village: str, taken: set[str]) -> str:
        for pattern in self.rng.sample(self.region.hamlet_patterns, len(self.region.hamlet_patterns)):
            name = pattern.format(v=village)
            if name not in taken:
                taken.add(name)
                return name
        name = f"{village} Hamlet {len(taken) + 1}"
        taken.add(name)
        return name
