# ruff: noqa: E501  (data tables laid out in rows, kept by "fmt: skip")
"""Value pools for the OpenCRM stand-in: UK names, places, trades and CRM picklists.

Everything that lands in Companies.csv must be encodable in cp1252 (that file is written as
cp1252), so the pools keep to Latin-1 letters plus the smart quote ’ and £.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "James", "Oliver", "Harry", "George", "Jack", "Thomas", "William", "Charlie", "Daniel", "Samuel",
    "Joseph", "Henry", "Alexander", "Edward", "Benjamin", "Matthew", "Luke", "Adam", "Ryan", "Nathan",
    "David", "Michael", "Christopher", "Andrew", "Mark", "Paul", "Richard", "Stephen", "Peter", "Simon",
    "Gareth", "Rhys", "Owain", "Callum", "Fraser", "Angus", "Hamish", "Liam", "Sean", "Declan",
    "Mohammed", "Aarav", "Arjun", "Rohan", "Imran", "Kwame", "Tomasz", "Piotr", "José", "Andrés",
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Lily", "Jessica", "Chloé",
    "Charlotte", "Hannah", "Lucy", "Ella", "Megan", "Holly", "Rebecca", "Sarah", "Emma", "Laura",
    "Rachel", "Claire", "Helen", "Joanne", "Nicola", "Kirsty", "Siobhan", "Niamh", "Aoife", "Catriona",
    "Eilidh", "Morag", "Bethan", "Ffion", "Cerys", "Priya", "Aisha", "Fatima", "Zoë", "Renée",
    "Agnieszka", "Natalia", "Margaret", "Susan", "Karen", "Julie", "Amanda", "Louise", "Victoria", "Kate",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Patel", "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell", "Rose", "Davis", "Rodriguez",
    "Cox", "Alexander", "Morgan", "Moore", "Martin", "Price", "Ali", "Hughes", "Harris", "Edwards",
    "Turner", "Cooper", "Hill", "Ward", "Morris", "King", "Baker", "Harrison", "Lee", "Allen",
    "Scott", "Young", "Watson", "Bennett", "Gray", "Shaw", "Cook", "Carter", "Parker", "Richardson",
    "Campbell", "Stewart", "MacDonald", "Murray", "Reid", "Fraser", "Henderson", "Ross", "Paterson", "Kerr",
    "O’Brien", "O’Neill", "O’Connor", "D’Souza", "McCarthy", "Doyle", "Byrne", "Kelly", "Quinn", "Gallagher",
    "Llewellyn", "Pritchard", "Vaughan", "Griffiths", "Rees", "Powell", "Bowen", "Jenkins", "Owen", "Lloyd",
    "Singh", "Sharma", "Begum", "Hussain", "Nowak", "Kowalski", "Müller", "Ferreira", "Santos", "Brontë",
    "Ashworth", "Barraclough", "Entwistle", "Heseltine", "Pickering", "Sutcliffe", "Whitaker", "Hargreaves",
    "Fairbairn", "Thwaite",
)  # fmt: skip

# (town, county, postcode area) — real towns and the area letters of their postcodes.
TOWNS: tuple[tuple[str, str, str], ...] = (
    ("London", "Greater London", "EC"), ("London", "Greater London", "SE"),
    ("London", "Greater London", "N"), ("Croydon", "Greater London", "CR"),
    ("Manchester", "Greater Manchester", "M"), ("Bolton", "Greater Manchester", "BL"),
    ("Stockport", "Greater Manchester", "SK"), ("Leeds", "West Yorkshire", "LS"),
    ("Bradford", "West Yorkshire", "BD"), ("Huddersfield", "West Yorkshire", "HD"),
    ("Sheffield", "South Yorkshire", "S"), ("York", "North Yorkshire", "YO"),
    ("Harrogate", "North Yorkshire", "HG"), ("Hull", "East Riding of Yorkshire", "HU"),
    ("Birmingham", "West Midlands", "B"), ("Coventry", "West Midlands", "CV"),
    ("Wolverhampton", "West Midlands", "WV"), ("Leicester", "Leicestershire", "LE"),
    ("Nottingham", "Nottinghamshire", "NG"), ("Derby", "Derbyshire", "DE"),
    ("Liverpool", "Merseyside", "L"), ("Chester", "Cheshire", "CH"),
    ("Preston", "Lancashire", "PR"), ("Lancaster", "Lancashire", "LA"),
    ("Newcastle upon Tyne", "Tyne and Wear", "NE"), ("Sunderland", "Tyne and Wear", "SR"),
    ("Durham", "County Durham", "DH"), ("Carlisle", "Cumbria", "CA"),
    ("Bristol", "Bristol", "BS"), ("Bath", "Somerset", "BA"), ("Taunton", "Somerset", "TA"),
    ("Exeter", "Devon", "EX"), ("Plymouth", "Devon", "PL"), ("Truro", "Cornwall", "TR"),
    ("Southampton", "Hampshire", "SO"), ("Portsmouth", "Hampshire", "PO"),
    ("Reading", "Berkshire", "RG"), ("Oxford", "Oxfordshire", "OX"),
    ("Cambridge", "Cambridgeshire", "CB"), ("Norwich", "Norfolk", "NR"),
    ("Ipswich", "Suffolk", "IP"), ("Colchester", "Essex", "CO"), ("Chelmsford", "Essex", "CM"),
    ("Brighton", "East Sussex", "BN"), ("Canterbury", "Kent", "CT"), ("Maidstone", "Kent", "ME"),
    ("Guildford", "Surrey", "GU"), ("Milton Keynes", "Buckinghamshire", "MK"),
    ("Northampton", "Northamptonshire", "NN"), ("Gloucester", "Gloucestershire", "GL"),
    ("Worcester", "Worcestershire", "WR"), ("Shrewsbury", "Shropshire", "SY"),
    ("Lincoln", "Lincolnshire", "LN"), ("Cardiff", "South Glamorgan", "CF"),
    ("Swansea", "West Glamorgan", "SA"), ("Newport", "Gwent", "NP"),
    ("Edinburgh", "Midlothian", "EH"), ("Glasgow", "Lanarkshire", "G"),
    ("Aberdeen", "Aberdeenshire", "AB"), ("Dundee", "Angus", "DD"),
    ("Inverness", "Inverness-shire", "IV"), ("Belfast", "County Antrim", "BT"),
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "High", "Station", "Church", "Victoria", "Mill", "King", "Queen", "Park", "London", "Market",
    "Bridge", "Castle", "Manor", "Chapel", "Grange", "Albert", "Kingsway", "Windsor", "Springfield",
    "Riverside", "Canal", "Wharf", "Trinity", "St John’s", "St Mary’s", "Abbey", "Meadow", "Oak",
    "Beech", "Elm",
)  # fmt: skip
STREET_TYPES: tuple[str, ...] = (
    "Street", "Road", "Lane", "Avenue", "Way", "Close", "Court", "Place", "Terrace", "Business Park",
)  # fmt: skip
BUILDING_NAMES: tuple[str, ...] = (
    "Unit 4", "Unit 12", "Suite 3", "The Old Mill", "Regent House", "Floor 2", "Enterprise Centre",
    "Apex Court", "Kings Chambers",
)  # fmt: skip

# Leading words of company names (besides surnames and towns).
BRAND_WORDS: tuple[str, ...] = (
    "Apex", "Northgate", "Pennine", "Cotswold", "Severn", "Thames", "Mercia", "Wessex", "Caledonian",
    "Albion", "Britannia", "Summit", "Keystone", "Evergreen", "Bluebell", "Oakfield", "Riverside",
    "Ironbridge", "Lakeland", "Highland", "Café Rouge", "Crème de la Crème", "Beaumont", "Belle Époque",
    "Clarkson’s", "Fielding’s", "Redwood", "Silverline", "Harbour", "Greenway", "Meridian", "Acme",
    "Vantage", "Pinnacle", "Granite", "Kestrel", "Falcon", "Phoenix", "Orchard", "Heritage",
)  # fmt: skip
PARTNER_PAIRS: tuple[str, ...] = (
    "Smith & Sons", "Harris & Webb", "Marks & Co", "Bell & Daughters", "Fox & Hound", "Pratt & Lamb",
    "Hale & Hearty", "Bright & Sons", "Carter & Holt", "Lyle & Partners", "Moss & Green", "Hart & Wood",
)  # fmt: skip
TRADES: tuple[str, ...] = (
    "Engineering", "Joinery", "Plumbing", "Electrical", "Roofing", "Construction", "Builders",
    "Logistics", "Haulage", "Consulting", "Accountants", "Solicitors", "Architects", "Surveyors",
    "Estate Agents", "Print", "Signs", "Catering", "Bakery", "Brewery", "Distillery", "Florists",
    "Garden Centre", "Landscaping", "Cleaning Services", "Security", "Recruitment", "Training",
    "IT Services", "Software", "Web Design", "Marketing", "Media", "Events", "Travel", "Motors",
    "Garage", "Tyres", "Hire", "Plant Hire", "Scaffolding", "Fabrications", "Precision", "Plastics",
    "Textiles", "Furniture", "Interiors", "Kitchens", "Dental Care", "Veterinary",
)  # fmt: skip
COMPANY_SUFFIXES: tuple[str, ...] = ("Ltd", "Limited", "Ltd", "Ltd", "PLC", "LLP", "Limited", "Ltd")

COMPANY_TYPES: tuple[str, ...] = (
    "Customer", "Customer", "Customer", "Prospect", "Prospect", "Partner", "Supplier", "Reseller",
    "Competitor",
)  # fmt: skip
INDUSTRIES: tuple[str, ...] = (
    "Construction", "Engineering", "Manufacturing", "Retail", "Hospitality", "Healthcare",
    "Education", "Financial Services", "Legal", "Technology", "Transport & Logistics", "Agriculture",
    "Property", "Charity", "Professional Services", "Media",
)  # fmt: skip
LEGAL_FORMATS: tuple[str, ...] = (
    "Private Limited Company", "Private Limited Company", "Private Limited Company",
    "Public Limited Company", "Limited Liability Partnership", "Sole Trader", "Partnership",
    "Charity",
)  # fmt: skip
SIC_CODES: tuple[str, ...] = (
    "41201", "43210", "43220", "49410", "62012", "62020", "69102", "69201", "70229", "71111",
    "56101", "47190", "25620", "16230", "86230", "85590", "82990", "73110",
)  # fmt: skip
COMPANY_DESCRIPTIONS: tuple[str, ...] = (
    "",
    "",
    "Long-standing customer. Annual spend approx £12k.",
    "Met at the NEC trade show; interested in our framework agreement.",
    "Prefers invoices by post. Credit limit £5,000.",
    "Parent company handles all purchasing – see Member Of.",
    "Café chain expanding into the North West; budget ~£40k for fit-out.",
    "Key account. Don’t call before 10am.",
    "Referred by existing client; pays on 30 days.",
    "Purchase orders required for anything over £500.",
)  # fmt: skip

JOB_TITLES: tuple[str, ...] = (
    "Managing Director", "Director", "Operations Director", "Finance Director", "Office Manager",
    "Operations Manager", "Purchasing Manager", "Facilities Manager", "IT Manager", "Head of Sales",
    "Sales Manager", "Account Manager", "Marketing Manager", "HR Manager", "Practice Manager",
    "Buyer", "Site Manager", "Project Manager", "Administrator", "Accounts Assistant", "Owner",
    "Partner", "Company Secretary", "",
)  # fmt: skip
DEPARTMENTS: tuple[str, ...] = (
    "", "Sales", "Finance", "Operations", "Purchasing", "IT", "Marketing", "HR", "Management",
    "Facilities",
)  # fmt: skip
LEAD_SOURCES: tuple[str, ...] = (
    "Website", "Referral", "Trade Show", "Cold Call", "Existing Customer", "Email Campaign",
    "LinkedIn", "Partner", "Advertisement", "",
)  # fmt: skip
CONTACT_METHODS: tuple[str, ...] = ("Email", "Email", "Phone", "Post")
CONTACT_DESCRIPTIONS: tuple[str, ...] = (
    "", "", "", "Decision maker.", "Prefers calls in the afternoon.", "Signs off POs over £1,000.",
    "Met at the NEC trade show.", "Gatekeeper – ask for the MD.",
)  # fmt: skip

# The stage map the customer confirms lists these; anything else is a defect.
SALES_STAGES: tuple[tuple[str, int], ...] = (
    ("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 30), ("Proposal", 50),
    ("Negotiation", 75), ("Closed Won", 100), ("Closed Lost", 0),
)  # fmt: skip
UNMAPPED_STAGES: tuple[str, ...] = (
    "Awaiting PO", "On Hold - Budget", "Verbal Win", "Parked", "Re-quote Requested",
)  # fmt: skip
PIPELINES: tuple[str, ...] = ("Sales", "Sales", "Sales", "Renewals", "Projects")
OPPORTUNITY_TYPES: tuple[str, ...] = (
    "New Business",
    "New Business",
    "Existing Business",
    "Renewal",
)
OPPORTUNITY_PRODUCTS: tuple[str, ...] = (
    "Annual Maintenance Contract", "Office Refit", "Website Rebuild", "Fleet Servicing",
    "Managed IT Support", "Framework Agreement", "Consultancy Day Rate", "Equipment Supply",
    "Training Programme", "Software Licences", "Security Upgrade", "Warehouse Racking",
)  # fmt: skip
NEXT_STEPS: tuple[str, ...] = (
    "", "Send proposal", "Book site visit", "Chase PO", "Follow-up call", "Demo booked",
    "Await board decision", "Issue revised quote",
)  # fmt: skip
COMPETITORS: tuple[str, ...] = ("", "", "", "Sage", "Local supplier", "Incumbent", "In-house team")

CALL_SUBJECTS: tuple[str, ...] = (
    "Follow-up call", "Intro call", "Chase quote", "Renewal discussion", "Support query",
    "Payment reminder", "Check-in call", "Callback requested",
)  # fmt: skip
MEETING_SUBJECTS: tuple[str, ...] = (
    "Site visit", "Quarterly review", "Product demo", "Contract negotiation", "Kick-off meeting",
    "Lunch meeting", "Proposal walkthrough",
)  # fmt: skip
TASK_SUBJECTS: tuple[str, ...] = (
    "Send brochure", "Prepare quote", "Update contact details", "Raise invoice", "Book engineer",
    "Send contract for signature", "Chase outstanding payment",
)  # fmt: skip
CALL_STATUSES: tuple[str, ...] = ("Held", "Held", "Held", "Not Held", "Planned")
MEETING_STATUSES: tuple[str, ...] = ("Held", "Held", "Planned", "Not Held")
TASK_STATUSES: tuple[str, ...] = (
    "Completed",
    "Completed",
    "In Progress",
    "Not Started",
    "Deferred",
)
PRIORITIES: tuple[str, ...] = ("Medium", "Medium", "High", "Low")
CALL_OUTCOMES: tuple[str, ...] = (
    "Spoke to contact", "Left voicemail", "No answer", "Call back later", "Wrong number",
)  # fmt: skip
MEETING_LOCATIONS: tuple[str, ...] = (
    "Client office", "Our office", "Microsoft Teams", "Zoom", "On site", "Costa Coffee",
)  # fmt: skip
DURATIONS: tuple[str, ...] = ("0.25", "0.5", "0.5", "1", "1", "1.5", "2", "3")
ACTIVITY_DESCRIPTIONS: tuple[str, ...] = (
    "", "", "Discussed pricing.", "Will revert next week.", "Asked for references.",
    "Happy with the service; renewal likely.", "Budget signed off at £2,500.",
)  # fmt: skip

NOTE_TITLES: tuple[str, ...] = (
    "Call notes", "Meeting notes", "Account history", "Complaint", "Pricing agreed",
    "Delivery instructions", "Credit check", "Renewal", "Site access", "Handover from previous owner",
)  # fmt: skip
NOTE_LINES: tuple[str, ...] = (
    "Spoke with the office manager.",
    "They want a revised quote by Friday.",
    "Delivery to the rear entrance only; ring the bell.",
    'Customer said "we\'ll sign once the board meets".',
    "Agreed 10% discount on the second year.",
    "Invoice £1,250.00 queried — credit note raised.",
    "Access code for the gate: ask reception.",
    "Complained about response times in March.",
    "Renewal due in Q3; budget holder is the FD.",
    'Prefers to be called "Bob" rather than Robert.',
    "Sent the T&Cs again, signed copy awaited.",
    "Left voicemail, will try again Tuesday.",
)  # fmt: skip
ATTACHMENT_NAMES: tuple[str, ...] = (
    "quote_v2.pdf", "signed_contract.pdf", "site_photos.zip", "PO-4471.pdf", "floorplan.dwg",
    "meeting minutes.docx",
)  # fmt: skip

LONG_NAME_REMARKS: tuple[str, ...] = (
    "(prefers to be called by middle name; spoke at the NEC trade show in 2019)",
    "(also handles accounts payable for the group — see old record in Outlook)",
    "(maternity cover until further notice, then back to previous contact)",
)  # fmt: skip
LONG_SUBJECT_TAIL = (
    " — discussed renewal terms, outstanding invoices from the previous financial year, the"
    " proposed site visit, delivery schedule for the second phase, and the revised pricing for"
    " additional licences requested by their finance director last month"
)
LONG_COMPANY_TAIL = (
    " trading as {other} incorporating the former {other2} business acquired in 2019 (see"
    " Companies House filing and the group structure chart held by the finance team)"
)
