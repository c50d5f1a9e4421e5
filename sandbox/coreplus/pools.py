"""Value pools for the CorePlus stand-in: Australian practice data (fictional people and places).

Phone numbers use ACMA's ranges reserved for drama (mobiles 0491 570 xxx, landlines 02 5550 xxxx
and similar), so no real subscriber is ever generated.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Jack", "Charlotte", "William", "Amelia", "Noah", "Isla", "Thomas", "Mia", "James",
    "Ava", "Lucas", "Grace", "Henry", "Chloe", "Oliver", "Zoe", "Ethan", "Ruby", "Liam", "Sophie",
    "Lachlan", "Matilda", "Cooper", "Harper", "Mason", "Ella", "Riley", "Evie", "Hamish", "Priya",
    "Wei", "Mai", "Arjun", "Sienna", "Tane", "Aroha", "Dimitri", "Giulia", "Siobhan", "Renée",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White", "Martin",
    "Anderson", "Thompson", "Nguyen", "Thomas", "Walker", "Harris", "Lee", "Ryan", "Robinson",
    "Kelly", "King", "Davis", "Wright", "Evans", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Patel", "Khan", "Tran", "Papadopoulos", "Rossi", "O'Brien", "McDonald", "Campbell",
    "Mitchell", "Chen", "Singh", "Murphy", "O'Connor",
)  # fmt: skip
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Master", "Prof", "Rev", "")
GENDERS = ("Male", "Female", "Other", "")
PRONOUNS = ("he", "she", "they", "", "")

# (suburb, state, postcode, landline area code)
SUBURBS: tuple[tuple[str, str, str, str], ...] = (
    ("Bondi Junction", "NSW", "2022", "02"), ("Parramatta", "NSW", "2150", "02"),
    ("Newtown", "NSW", "2042", "02"), ("Chatswood", "NSW", "2067", "02"),
    ("Fitzroy", "VIC", "3065", "03"), ("Brunswick", "VIC", "3056", "03"),
    ("St Kilda", "VIC", "3182", "03"), ("Geelong", "VIC", "3220", "03"),
    ("Fortitude Valley", "QLD", "4006", "07"), ("Southport", "QLD", "4215", "07"),
    ("Toowong", "QLD", "4066", "07"), ("Fremantle", "WA", "6160", "08"),
    ("Subiaco", "WA", "6008", "08"), ("Glenelg", "SA", "5045", "08"),
    ("Norwood", "SA", "5067", "08"), ("Sandy Bay", "TAS", "7005", "03"),
    ("Braddon", "ACT", "2612", "02"), ("Darwin City", "NT", "0800", "08"),
)  # fmt: skip
STREETS = (
    "George Street", "Oxford Street", "Smith Street", "Bridge Road", "Beach Road", "High Street",
    "King Street", "Station Street", "Church Street", "Victoria Parade", "Ocean Drive",
)  # fmt: skip

BUSINESS_CORES = (
    "Harbourside Logistics", "Southern Cross Builders", "Coastal Physio Group", "Redgum Mining",
    "Bluewattle Childcare", "Kookaburra Cafes", "Ironbark Engineering", "Sunburnt Media",
    "Jacaranda Aged Care", "Outback Freight", "Waratah Schools", "Banksia Retail",
)  # fmt: skip
BUSINESS_SUFFIXES = ("Pty Ltd", "Pty. Ltd.", "P/L", "Pty Limited")
ORGANISATION_PLACEHOLDERS = ("Private", "Self", "N/A", "none", "-")

CLIENT_GROUPS = (
    ("NDIS", "National Disability Insurance Scheme participants"),
    ("DVA", "Department of Veterans' Affairs card holders"),
    ("Medicare CDM", "Chronic disease management plans"),
    ("WorkCover", "Workplace injury claims"),
    ("Private", "Private fee-paying clients"),
    ("Staff", "Practice staff and family"),
)

LOCATIONS = (
    ("Bondi Junction Clinic", "NSW", "AUS Eastern Standard Time"),
    ("Parramatta Clinic", "NSW", "AUS Eastern Standard Time"),
    ("Telehealth", "NSW", "AUS Eastern Standard Time"),
)

# (description, mode, durationMinutes, fee, itemNumber, stock level)
APPOINTMENT_TYPES: tuple[tuple[str, str, int, str, str, int | None], ...] = (
    ("Initial Consultation", "In Person", 60, "180.00", "10960", None),
    ("Standard Consultation", "In Person", 45, "120.00", "10960", None),
    ("Review Consultation", "In Person", 30, "95.00", "10960", None),
    ("Home Visit", "Home Visit", 60, "210.00", "10970", None),
    ("Group Exercise Class", "In Person", 60, "35.00", "81100", None),
    ("Telehealth Consultation", "Telehealth", 30, "95.00", "91174", None),
    ("Telehealth Review", "Telehealth", 20, "75.00", "91175", None),
    ("Phone Review", "Phone Call", 15, "50.0", "91176", None),
    ("Phone Check-in", "Phone Call", 10, "0", "", None),
    ("Theraband Kit", "Product", 0, "24.95", "", 40),
)

# Practitioners and how the local Dataverse seed treats their email (sandbox/dataverse/seed.json):
# active = an enabled systemuser, disabled = a disabled one, absent = none, none = no email.
# (first, last, email, specialty, provider number, dataverse)
PRACTITIONERS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Emily", "Patel", "emily.patel@contoso.example", "Physiotherapist", "2145678A", "active"),
    ("Aisha", "Khan", "aisha.khan@contoso.example", "Psychologist", "2256789B", "active"),
    ("Rhys", "Hughes", "Rhys.Hughes@Contoso.example", "Exercise Physiol.", "2367890C", "active"),
    ("Declan", "O'Brien", "declan.obrien@contoso.example", "Podiatrist", "2478901D", "active"),
    ("Laura", "Wright", "laura.wright@contoso.example", "Dietitian", "2589012F", "active"),
    ("Liam", "Morgan", "liam.morgan@contoso.example", "Physiotherapist", "2690123H", "disabled"),
    ("Mei", "Chen", "mei.chen@bondiallied.example", "Occupational Therapist", "2701234J", "absent"),
    ("Tom", "Rossi", "", "Massage Therapist", "", "none"),
    ("Hannah", "Kelly", "", "Speech Pathologist", "2823456K", "none"),
)  # fmt: skip

REFERRER_SPECIALTIES = (
    "General Practitioner", "Orthopaedic Surgeon", "Sports Physician", "Paediatrician",
    "Rheumatologist", "Psychiatrist",
)  # fmt: skip
REFERRER_ORGANISATIONS = (
    "Bondi Medical Centre", "Parramatta Family Practice", "Harbour City GP Clinic",
    "NDIS Support Coordination", "Eastern Suburbs Orthopaedics", "Westmead Children's Clinic",
)  # fmt: skip

APPOINTMENT_STATUSES = (  # status, weight
    ("Attended", 60), ("Booked", 12), ("Confirmed", 8), ("Cancelled", 9), ("DNA", 6),
    ("Rescheduled", 4), ("Pencilled In", 1),
)  # fmt: skip
PAYMENT_METHODS = ("EFTPOS", "Visa", "Mastercard", "Amex", "Cash", "BPay", "HICAPS")
NOTE_LINES = (
    "Client reports reduced pain since last session.",
    "<p>Reviewed home exercise program; progressed to level 2.</p>",
    "Discussed goals for the next 6 weeks.\nPlan: continue fortnightly.",
    "Referred back to GP for imaging.",
    "Client late by 10 minutes; shortened session.",
    "<b>Body chart</b> attached in clinical record (not exportable).",
)
RELATIONSHIPS = ("Mother", "Father", "Guardian", "Next of KIN", "Partner", "Carer")
