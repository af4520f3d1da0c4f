"""Demo guidelines, written for the demo: one long guideline in three editions (2016, 2021 and a 2025 targeted
update) where provisions are added, removed, renumbered, moved and reworded, a second smaller guideline, and
a Spanish translation. Idempotent: editions that already exist are left alone.

Editions go in through the same import service a society would use for its own documents.
"""

import re

from guidelines.apps import ensure_editors_group
from guidelines.exchange import FORMAT, edition_import
from guidelines.models import Edition, Guideline
from guidelines.rendering import content_hash

P, S, R = "part", "section", "recommendation"

# (slug, number, heading, kind, parent slug, body)
STEM_2016 = [
    (
        "principles",
        "1",
        "Fundamental principles",
        P,
        None,
        "The recommendations that follow rest on a small number of principles. Where a recommendation is silent or unclear, these principles guide its interpretation.",
    ),
    (
        "integrity",
        "1.1",
        "Integrity of the research enterprise",
        S,
        "principles",
        "Research must be designed and conducted so that its results can be trusted. Investigators are responsible for the accuracy of their data, the soundness of their methods and the honest reporting of their findings, including negative results.",
    ),
    (
        "participant-welfare",
        "1.2",
        "Primacy of participant welfare",
        S,
        "principles",
        "The welfare of research participants and patients takes precedence over the interests of science, of investigators and of sponsors. No expected scientific gain justifies exposing participants to unreasonable risk.",
    ),
    (
        "respect-participants",
        "1.3",
        "Respect for participants",
        S,
        "principles",
        "Participants are entitled to make informed and voluntary decisions about taking part in research. Investigators must give them the information they need in a form they can understand.",
    ),
    (
        "transparency",
        "1.4",
        "Transparency",
        S,
        "principles",
        "Investigators should share the methods, data and results of their research in a timely way, so that others can examine and build on them.",
    ),
    (
        "justice",
        "1.5",
        "Social and distributive justice",
        S,
        "principles",
        "The benefits of research should be distributed fairly. Research should address the health needs of people around the world and not only of those who can pay for new treatments.",
    ),
    (
        "laboratory",
        "2",
        "Laboratory research",
        P,
        None,
        "This part applies to research with human embryos, human pluripotent stem cells and the cells and tissues derived from them, before any use in people.",
    ),
    (
        "review",
        "2.1",
        "Review processes",
        S,
        "laboratory",
        "Some laboratory research raises ethical questions that an ordinary institutional review does not address. The recommendations in this section set out when a specialised review is needed.",
    ),
    (
        "embryo-oversight",
        "2.1.1",
        "Oversight of research with human embryos",
        R,
        "review",
        "All research that involves human embryos, or that creates embryo-like structures, should be subject to review by a specialised oversight committee with scientific, ethical and legal expertise.",
    ),
    (
        "review-categories",
        "2.1.2",
        "Categories of review",
        R,
        "review",
        "Research should be placed in one of three categories: research exempt from specialised review, research that requires specialised review, and research that should not be pursued.",
    ),
    (
        "exempt-research",
        "2.1.3",
        "Research not requiring specialised review",
        R,
        "review",
        "Research with established human pluripotent stem cell lines that does not involve embryos, chimeras or the generation of gametes is exempt from specialised review.",
    ),
    (
        "procurement",
        "2.2",
        "Procurement of biomaterials",
        S,
        "laboratory",
        "Tissues, cells and embryos used in research come from people who have entrusted them to science. Procurement must honour that trust.",
    ),
    (
        "donor-consent",
        "2.2.1",
        "Consent for donation",
        R,
        "procurement",
        "Donors must give informed consent for the research use of their materials. Consent should be sought by someone who is not the donor's treating physician.",
    ),
    (
        "donor-compensation",
        "2.2.2",
        "Compensation of donors",
        R,
        "procurement",
        "Donors may be reimbursed for expenses. Payments should not be so large as to induce people to donate against their own judgement.",
    ),
    (
        "consent-withdrawal",
        "2.2.3",
        "Withdrawal of consent",
        R,
        "procurement",
        "Donors may withdraw consent until their materials have been used or anonymised. The consent form must explain when withdrawal is no longer possible.",
    ),
    (
        "donor-privacy",
        "2.2.4",
        "Privacy of donors",
        R,
        "procurement",
        "The identity of donors must be protected. Genetic information from donated materials must be held securely and disclosed only as the donor agreed.",
    ),
    (
        "embryo-research",
        "2.3",
        "Research with human embryos",
        S,
        "laboratory",
        "Research with human embryos may be justified when it addresses important questions that cannot be answered in any other way.",
    ),
    (
        "fourteen-day-limit",
        "2.3.1",
        "The fourteen-day limit",
        R,
        "embryo-research",
        "Human embryos must not be cultured in vitro beyond fourteen days after fertilisation or the formation of the primitive streak, whichever comes first.",
    ),
    (
        "embryo-creation",
        "2.3.2",
        "Creation of embryos for research",
        R,
        "embryo-research",
        "Embryos may be created for research only where the research question cannot be answered with embryos donated after fertility treatment.",
    ),
    (
        "heritable-editing",
        "2.3.3",
        "Heritable genome editing",
        R,
        "embryo-research",
        "The genome of a human embryo that will be transferred to a uterus must not be modified. Research on genome editing in embryos that will not be transferred is permitted with specialised review.",
    ),
    (
        "embryo-models",
        "2.4",
        "Stem cell-based embryo models",
        S,
        "laboratory",
        "Structures made from stem cells can now model some stages of early development. Their oversight depends on how completely they model an embryo.",
    ),
    (
        "integrated-models",
        "2.4.1",
        "Integrated embryo models",
        R,
        "embryo-models",
        "Models that contain the cells of both the embryo and its supporting tissues require specialised review and must not be cultured longer than is needed to answer the research question.",
    ),
    (
        "non-integrated-models",
        "2.4.2",
        "Non-integrated embryo models",
        R,
        "embryo-models",
        "Models that reproduce only part of the early embryo need only institutional review, unless they are combined with other structures.",
    ),
    (
        "chimeras",
        "2.5",
        "Chimeras",
        S,
        "laboratory",
        "Introducing human cells into animals can answer questions about human development and disease. It also raises questions about the animals' welfare and capacities.",
    ),
    (
        "human-animal-chimeras",
        "2.5.1",
        "Human-animal chimeras",
        R,
        "chimeras",
        "Research that introduces human pluripotent stem cells into animal embryos requires specialised review, with attention to the contribution of human cells to the brain.",
    ),
    (
        "germline-contribution",
        "2.5.2",
        "Germline contribution",
        R,
        "chimeras",
        "Animals into which human cells have been introduced must not be bred with one another.",
    ),
    (
        "sharing",
        "2.6",
        "Sharing of data and materials",
        S,
        "laboratory",
        "Cell lines, reagents and data produced with public trust should be available to other researchers.",
    ),
    (
        "banking",
        "2.6.1",
        "Banking of cell lines",
        R,
        "sharing",
        "New human pluripotent stem cell lines should be deposited in a recognised bank with their provenance, consent documents and characterisation data.",
    ),
    (
        "open-access",
        "2.6.2",
        "Access to materials",
        R,
        "sharing",
        "Investigators should make materials described in their publications available to qualified researchers on reasonable terms.",
    ),
    (
        "clinical",
        "3",
        "Clinical translation",
        P,
        None,
        "This part applies when cells, tissues or products derived from stem cells are to be used in people, in research or in care.",
    ),
    (
        "manufacture",
        "3.1",
        "Cell processing and manufacture",
        S,
        "clinical",
        "Products given to people must be made consistently and safely.",
    ),
    (
        "quality-management",
        "3.1.1",
        "Quality management",
        R,
        "manufacture",
        "Cells intended for clinical use must be processed under a quality management system appropriate to the stage of development, with documented procedures and traceability.",
    ),
    (
        "donor-eligibility",
        "3.1.2",
        "Donor eligibility",
        R,
        "manufacture",
        "Donors of cells for clinical products must be screened and tested for infectious diseases and relevant genetic conditions.",
    ),
    (
        "release-criteria",
        "3.1.3",
        "Release criteria",
        R,
        "manufacture",
        "Every batch must meet predefined criteria for identity, purity, potency and sterility before it is released for use.",
    ),
    (
        "preclinical",
        "3.2",
        "Preclinical studies",
        S,
        "clinical",
        "Evidence from laboratory and animal studies must justify a first use in people.",
    ),
    (
        "animal-studies",
        "3.2.1",
        "Animal studies",
        R,
        "preclinical",
        "Animal studies should use models relevant to the human condition, be designed to minimise bias and be reported in full.",
    ),
    (
        "tumorigenicity",
        "3.2.2",
        "Tumorigenicity",
        R,
        "preclinical",
        "The risk that a product forms tumours must be assessed before clinical use, in proportion to the proliferative capacity of its cells.",
    ),
    (
        "biodistribution",
        "3.2.3",
        "Biodistribution",
        R,
        "preclinical",
        "Studies should establish where administered cells go, how long they persist and whether they reach tissues where they could cause harm.",
    ),
    (
        "clinical-research",
        "3.3",
        "Clinical research",
        S,
        "clinical",
        "Clinical research with stem cell-based products must meet the standards that apply to all clinical research, and some that are specific to these products.",
    ),
    (
        "peer-review",
        "3.3.1",
        "Independent peer review",
        R,
        "clinical-research",
        "Every trial protocol should be reviewed by independent experts for its scientific rationale and design before ethics review.",
    ),
    (
        "risk-benefit",
        "3.3.2",
        "Risk-benefit analysis",
        R,
        "clinical-research",
        "The risks to participants must be reasonable in relation to the expected benefits to them and the knowledge to be gained.",
    ),
    (
        "trial-consent",
        "3.3.3",
        "Informed consent for trials",
        R,
        "clinical-research",
        "Participants must be told that the intervention is experimental, that benefit is uncertain and that some effects may be irreversible.",
    ),
    (
        "monitoring",
        "3.3.4",
        "Monitoring and stopping rules",
        R,
        "clinical-research",
        "Trials should have an independent data monitoring committee and predefined rules for stopping when participants are harmed.",
    ),
    (
        "registration",
        "3.3.5",
        "Registration and reporting",
        R,
        "clinical-research",
        "Trials must be registered before the first participant is enrolled, and their results reported whatever they are.",
    ),
    (
        "unproven",
        "3.4",
        "Unproven interventions",
        S,
        "clinical",
        "Stem cell interventions offered outside research, without evidence of safety and efficacy, put patients at risk and undermine trust.",
    ),
    (
        "direct-marketing",
        "3.4.1",
        "Direct-to-consumer marketing",
        R,
        "unproven",
        "Clinicians and clinics must not market unproven stem cell interventions to patients, and members of the society must not lend their names to such marketing.",
    ),
    (
        "innovative-care",
        "3.4.2",
        "Innovative care",
        R,
        "unproven",
        "A clinician may offer an unproven intervention to a small number of seriously ill patients only with peer review, informed consent and a commitment to publish the results.",
    ),
    (
        "communication",
        "4",
        "Communication",
        P,
        None,
        "Researchers, institutions and journals share responsibility for how stem cell science is presented to the public.",
    ),
    (
        "public-communication",
        "4.1",
        "Public communication",
        S,
        "communication",
        "Communication about stem cell research should be accurate about both its promise and its limits.",
    ),
    (
        "accuracy",
        "4.2",
        "Accuracy in reporting",
        S,
        "communication",
        "Press releases should not overstate the significance of findings or the nearness of treatments.",
    ),
    (
        "conflicts-of-interest",
        "4.3",
        "Conflicts of interest",
        S,
        "communication",
        "Investigators must disclose financial and other interests that could be seen to influence their research or its presentation.",
    ),
    ("standards", "5", "Standards", P, None, "Shared standards make results comparable and products safer."),
    (
        "nomenclature",
        "5.1",
        "Nomenclature",
        S,
        "standards",
        "Cell lines should be named according to a recognised registry so that each line can be identified unambiguously.",
    ),
    (
        "reporting-standards",
        "5.2",
        "Reporting standards",
        S,
        "standards",
        "Publications should report the characterisation of cell lines, including their genetic stability and pluripotency.",
    ),
]

# 2021: what changed, by provision slug. Numbers, parents and text of everything else carry over.
STEM_2021_CHANGES = {
    "respect-participants": {
        "body": "Participants are entitled to make informed and voluntary decisions about taking part in research. Investigators must give them the information they need in a form and language they can understand, and must allow them time to decide.",
        "change_note": "Adds language and time to decide.",
    },
    "conflicts-of-interest": {
        "number": "1.7",
        "parent": "principles",
        "change_note": "Moved to the principles, unchanged, because it applies to all of the guideline.",
    },
    "review-categories": {
        "body": "Research should be placed in one of three categories: research that needs only institutional review, research that requires specialised review, and research that should not be pursued. Research with established cell lines that involves no embryos, chimeras or gametes needs only institutional review.",
        "change_note": "Absorbs the former 2.1.3.",
    },
    "donor-consent": {
        "body": "Donors must give informed consent for the research use of their materials, including, where they agree, broad consent to future research not yet specified. Consent should be sought by someone who is not the donor's treating physician.",
        "change_note": "Allows broad consent.",
    },
    "donor-compensation": {
        "body": "Donors may be reimbursed for expenses and compensated for their time and inconvenience. Payments must not be so large as to induce people to donate against their own judgement.",
        "change_note": "Allows compensation for time and inconvenience.",
    },
    "fourteen-day-limit": {
        "heading": "Culture of human embryos",
        "body": "Human embryos should not be cultured in vitro beyond fourteen days after fertilisation or the formation of the primitive streak, whichever comes first. Proposals to go beyond this limit should be considered only after public discussion and within the law of the country.",
        "change_note": "The limit is kept, with a route for public discussion of extending it.",
    },
    "human-animal-chimeras": {
        "body": "Research that introduces human pluripotent stem cells into animal embryos requires specialised review, with attention to the contribution of human cells to the brain and the germline. Such animals must not be bred with one another.",
        "change_note": "Absorbs the former 2.5.2.",
    },
    "sharing": {"number": "5.3", "parent": "standards", "change_note": "Moved to Standards."},
    "banking": {"number": "5.3.1"},
    "open-access": {"number": "5.3.2"},
    "clinical-research": {"number": "3.4"},
    "peer-review": {"number": "3.4.1"},
    "risk-benefit": {"number": "3.4.2"},
    "trial-consent": {
        "number": "3.4.3",
        "body": "Participants must be told that the intervention is experimental, that benefit is uncertain, that some effects may be irreversible and that cells may persist in their body for the rest of their life.",
        "change_note": "Adds the persistence of cells.",
    },
    "monitoring": {"number": "3.4.4"},
    "registration": {"number": "3.4.5"},
    "unproven": {"number": "3.5"},
    "direct-marketing": {"number": "3.5.1"},
    "innovative-care": {"number": "3.5.2"},
    "public-communication": {
        "body": "Communication about stem cell research should be accurate about its promise, its limits and its risks, and should make clear which uses are approved and which are still experimental.",
        "change_note": "Adds risks and regulatory status.",
    },
    "accuracy": {"number": "4.2"},
}
STEM_2021_REMOVED = {"exempt-research", "germline-contribution"}
STEM_2021_ADDED = [
    (
        "open-science",
        "1.6",
        "Open science",
        S,
        "principles",
        "Data, protocols and negative results should be shared openly unless participant privacy or safety requires otherwise.",
    ),
    (
        "mitochondrial-replacement",
        "2.3.4",
        "Mitochondrial replacement",
        R,
        "embryo-research",
        "Clinical use of mitochondrial replacement to prevent serious disease may be considered where the law allows it, with specialised review and long-term follow-up of children born.",
    ),
    (
        "in-vitro-gametes",
        "2.6",
        "In vitro derived gametes",
        S,
        "laboratory",
        "Gametes derived from stem cells are a tool for understanding infertility and development.",
    ),
    (
        "gamete-use",
        "2.6.1",
        "Use of in vitro derived gametes",
        R,
        "in-vitro-gametes",
        "Gametes derived in vitro may be used in research, but must not be used for reproduction until their safety has been established.",
    ),
    (
        "trial-design",
        "3.3",
        "Clinical trial design",
        S,
        "clinical",
        "A trial must be designed so that it can answer its question.",
    ),
    (
        "control-groups",
        "3.3.1",
        "Control groups",
        R,
        "trial-design",
        "Trials should compare the intervention with the best available care, using randomisation and blinding wherever feasible.",
    ),
    (
        "sham-procedures",
        "3.3.2",
        "Sham procedures",
        R,
        "trial-design",
        "A sham procedure may be used when it is needed to answer the question and its risks to participants are minimal.",
    ),
]

STEM_2025_CHANGES = {
    "embryo-models": {
        "body": "Structures made from stem cells can now model many stages of early development. All such models are overseen in the same way, whatever their composition.",
        "change_note": "Oversight no longer depends on the kind of model.",
    },
    "integrated-models": {
        "heading": "Oversight of all embryo models",
        "body": "All stem cell-based embryo models require specialised review, must have a clear scientific rationale and must not be cultured longer than is needed to answer the research question.",
        "change_note": "Extends specialised review to every model; replaces the former 2.4.2.",
    },
    "direct-marketing": {
        "body": "Clinicians and clinics must not market unproven stem cell interventions to patients, including through social media and patient networks, and members of the society must not lend their names to such marketing.",
        "change_note": "Names social media and patient networks.",
    },
}
STEM_2025_REMOVED = {"non-integrated-models"}
STEM_2025_ADDED = [
    (
        "model-transfer",
        "2.4.2",
        "No transfer to a uterus",
        R,
        "embryo-models",
        "A stem cell-based embryo model must never be transferred to the uterus of a human or an animal.",
    ),
]

# The second, smaller guideline: two editions and a Spanish translation of the later one.
LAB_2019 = [
    (
        "scope",
        "1",
        "Scope",
        S,
        None,
        "These standards apply to every laboratory that derives, maintains or distributes human pluripotent stem cell lines.",
    ),
    (
        "provenance",
        "2",
        "Provenance",
        S,
        None,
        "A laboratory must be able to show where each cell line came from and under what consent it was obtained.",
    ),
    (
        "characterisation",
        "3",
        "Characterisation",
        S,
        None,
        "Each line must be characterised for identity, pluripotency and genetic stability before distribution.",
    ),
    (
        "mycoplasma",
        "3.1",
        "Contamination testing",
        R,
        "characterisation",
        "Cultures must be tested for mycoplasma at least every three months.",
    ),
    (
        "records",
        "4",
        "Records",
        S,
        None,
        "Records of derivation, passage and distribution must be kept for at least ten years.",
    ),
]
LAB_2023_CHANGES = {
    "mycoplasma": {
        "body": "Cultures must be tested for mycoplasma at least monthly and before every distribution.",
        "change_note": "Monthly testing.",
    },
    "records": {"number": "5"},
}
LAB_2023_ADDED = [
    (
        "data-sharing",
        "4",
        "Sharing of characterisation data",
        S,
        None,
        "Characterisation data should accompany every distributed line.",
    ),
]
LAB_2023_SPANISH = {
    "scope": (
        "Alcance",
        "Estas normas se aplican a todo laboratorio que derive, mantenga o distribuya líneas de células madre pluripotentes humanas.",
    ),
    "provenance": (
        "Procedencia",
        "Un laboratorio debe poder demostrar de dónde procede cada línea celular y con qué consentimiento se obtuvo.",
    ),
    "characterisation": (
        "Caracterización",
        "Cada línea debe caracterizarse en cuanto a identidad, pluripotencia y estabilidad genética antes de su distribución.",
    ),
    # Translated from the 2019 wording, so it is flagged as possibly out of date against the 2023 original.
    "mycoplasma": (
        "Pruebas de contaminación",
        "Los cultivos deben analizarse para detectar micoplasmas al menos cada tres meses.",
    ),
    "data-sharing": (
        "Intercambio de datos de caracterización",
        "Los datos de caracterización deben acompañar a cada línea distribuida.",
    ),
    "records": (
        "Registros",
        "Los registros de derivación, pase y distribución deben conservarse durante al menos diez años.",
    ),
}


def _number_key(number):
    return [int(part) if part.isdigit() else part for part in re.split(r"[.]", number)]


def _apply(rows, changes=None, removed=(), added=()):
    """The next edition's provision rows from the previous one's."""
    result = []
    for slug, number, heading, kind, parent, body, *_previous_note in rows:
        if slug in removed:
            continue
        change = (changes or {}).get(slug, {})
        result.append(
            (
                slug,
                change.get("number", number),
                change.get("heading", heading),
                kind,
                change.get("parent", parent),
                change.get("body", body),
                change.get("change_note", ""),
            )
        )
    result.extend((*row, "") for row in added)
    return sorted(result, key=lambda row: _number_key(row[1]))


def _edition_data(prefix, guideline, meta, rows, source_hashes=None):
    return {
        "format": FORMAT,
        "guideline": guideline,
        "edition": meta,
        "provisions": [
            {
                "uid": f"{prefix}-{slug}",
                "slug": slug,
                "number": number,
                "heading": heading,
                "kind": kind,
                "parent": f"{prefix}-{parent}" if parent else None,
                "body": body,
                "change_note": note,
                "source_hash": (source_hashes or {}).get(slug, ""),
            }
            for slug, number, heading, kind, parent, body, *rest in rows
            for note in [rest[0] if rest else ""]
        ],
    }


def _seed_edition(command, data):
    guideline_slug = data["guideline"]["slug"]
    if Edition.objects.filter(guideline__slug=guideline_slug, slug=data["edition"]["slug"]).exists():
        return
    edition = edition_import(data=data, publish=True)
    command.stdout.write(f"Demo guideline edition: {edition}")


def seed(command):
    ensure_editors_group(sender=None)
    stem = {
        "slug": "stem-cell-research",
        "title": "Guidelines for Stem Cell Research and Clinical Translation",
        "summary": "Principles and recommendations for laboratory research with human embryos and stem cells, "
        "and for the responsible translation of stem cell-based products into the clinic.",
    }
    rows_2016 = _apply(STEM_2016)
    rows_2021 = _apply(rows_2016, STEM_2021_CHANGES, STEM_2021_REMOVED, STEM_2021_ADDED)
    rows_2025 = _apply(rows_2021, STEM_2025_CHANGES, STEM_2025_REMOVED, STEM_2025_ADDED)
    editions = [
        (
            {
                "label": "2016",
                "slug": "2016",
                "kind": "full",
                "published_on": "2016-05-12",
                "change_summary": "The first edition of the society's guidelines.",
                "doi": "10.5555/isscs.guidelines.2016",
            },
            rows_2016,
        ),
        (
            {
                "label": "2021",
                "slug": "2021",
                "kind": "full",
                "published_on": "2021-05-26",
                "change_summary": "A full revision. New sections on **in vitro derived gametes** and **clinical trial "
                "design**; embryo culture, consent and chimera recommendations revised; data sharing moved to "
                "Standards and conflicts of interest to the principles.",
                "doi": "10.5555/isscs.guidelines.2021",
            },
            rows_2021,
        ),
        (
            {
                "label": "2025 targeted update",
                "slug": "2025",
                "kind": "targeted_update",
                "published_on": "2025-08-14",
                "change_summary": "A targeted update of section 2.4 on **stem cell-based embryo models**, which are "
                "now all subject to specialised review, and of 3.5.1 on marketing.",
            },
            rows_2025,
        ),
    ]
    for meta, rows in editions:
        _seed_edition(command, _edition_data("isscs", stem, meta, rows))

    lab = {
        "slug": "laboratory-standards",
        "title": "Standards for Human Stem Cell Laboratories",
        "summary": "Minimum standards for laboratories that derive, maintain or distribute human pluripotent stem cell lines.",
    }
    lab_2019 = _apply(LAB_2019)
    lab_2023 = _apply(lab_2019, LAB_2023_CHANGES, (), LAB_2023_ADDED)
    _seed_edition(
        command,
        _edition_data(
            "lab",
            lab,
            {"label": "2019", "slug": "2019", "published_on": "2019-03-01", "change_summary": "First edition."},
            lab_2019,
        ),
    )
    _seed_edition(
        command,
        _edition_data(
            "lab",
            lab,
            {
                "label": "2023",
                "slug": "2023",
                "published_on": "2023-09-20",
                "change_summary": "Monthly contamination testing; sharing of characterisation data.",
            },
            lab_2023,
        ),
    )
    # Each Spanish provision records the hash of the English text it was translated from.
    english_2019 = {row[0]: content_hash(row[2], row[5]) for row in lab_2019}
    english_2023 = {row[0]: content_hash(row[2], row[5]) for row in lab_2023}
    source_hashes = {slug: english_2023[slug] for slug in english_2023}
    source_hashes["mycoplasma"] = english_2019["mycoplasma"]
    spanish_rows = [
        (slug, number, LAB_2023_SPANISH[slug][0], kind, parent, LAB_2023_SPANISH[slug][1])
        for slug, number, _heading, kind, parent, _body, _note in lab_2023
    ]
    _seed_edition(
        command,
        _edition_data(
            "lab",
            lab,
            {
                "label": "2023 (español)",
                "slug": "2023-es",
                "language": "es",
                "translation_of": "2023",
                "published_on": "2024-02-05",
                "change_summary": "Traducción al español de la edición de 2023.",
            },
            spanish_rows,
            source_hashes,
        ),
    )
    Guideline.objects.filter(slug=lab["slug"]).update(order=1)
