"""Label tables of the e-mails: fr and en text of each code, and the DPO's `dsr case` commands."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.notifications import MessageType

RIGHT_LABELS: Mapping[str, Mapping[str, str]] = {
    "access": {"fr": "droit d'accès", "en": "right of access"},
    "erasure": {"fr": "droit à l'effacement", "en": "right to erasure"},
    "rectification": {"fr": "droit de rectification", "en": "right to rectification"},
    "restriction": {
        "fr": "droit à la limitation du traitement",
        "en": "right to restriction of processing",
    },
    "portability": {"fr": "droit à la portabilité", "en": "right to data portability"},
    "objection": {"fr": "droit d'opposition", "en": "right to object"},
    "consent_withdrawal": {"fr": "retrait du consentement", "en": "withdrawal of consent"},
    "post_mortem": {"fr": "directives post mortem", "en": "post-mortem directives"},
}

# The one keep ground that is not a partial refusal; the templates spell it out literally.
SUPPRESSION_GROUND = "suppression_list"

# Why an item survives an erasure (schemas.tasks.KeepGround): the Art. 17(3) GDPR grounds,
# the only grounds for refusing part of an erasure request (R26), plus the suppression list.
KEEP_GROUNDS: Mapping[str, Mapping[str, str]] = {
    "freedom_of_expression": {
        "fr": "exercice du droit à la liberté d'expression et d'information"
        " (article 17, paragraphe 3, point a, du RGPD)",
        "en": "exercise of the right of freedom of expression and information (Art. 17(3)(a) GDPR)",
    },
    "legal_obligation": {
        "fr": "obligation légale de conservation (article 17, paragraphe 3, point b, du RGPD)",
        "en": "legal obligation to keep the data (Art. 17(3)(b) GDPR)",
    },
    "public_health": {
        "fr": "motifs d'intérêt public dans le domaine de la santé publique"
        " (article 17, paragraphe 3, point c, du RGPD)",
        "en": "public interest in the area of public health (Art. 17(3)(c) GDPR)",
    },
    "archiving_research": {
        "fr": "archivage dans l'intérêt public, recherche scientifique ou historique,"
        " ou statistiques (article 17, paragraphe 3, point d, du RGPD)",
        "en": "archiving in the public interest, scientific or historical research, or statistics (Art. 17(3)(d) GDPR)",
    },
    "legal_claims": {
        "fr": "constatation, exercice ou défense de droits en justice (article 17, paragraphe 3, point e, du RGPD)",
        "en": "establishment, exercise or defence of legal claims (Art. 17(3)(e) GDPR)",
    },
    # Not a refusal (Art. 21(3), R45): keeping a keyed hash is what honours the objection, so
    # outcome_erasure lists it apart and gives no remedies paragraph for it alone.
    SUPPRESSION_GROUND: {
        "fr": "liste d'opposition\u00a0: nous conservons uniquement une empreinte non réversible de"
        " votre adresse, au moins 3 ans, pour ne plus vous contacter (article 21, paragraphe 3,"
        " du RGPD et recommandation de la CNIL)",
        "en": "objection list: we keep only a keyed fingerprint of your address, for at least"
        " 3 years, so that we never contact you again (Art. 21(3) GDPR and CNIL guidance)",
    },
}

# Why the reply takes two further months (R10, schemas.decisions.ExtensionReason). "A lot of
# work" or "many requests" are not reasons, so they have no sentence here.
REASON_LABELS: Mapping[str, Mapping[str, str]] = {
    "volume_of_data": {
        "fr": "le volume des données vous concernant est important et leur extraction demande davantage de temps",
        "en": "we hold a large volume of data about you, and extracting it takes more time",
    },
    "spread_across_systems": {
        "fr": "vos données sont réparties entre plusieurs services, systèmes ou prestataires,"
        " qui doivent tous être interrogés",
        "en": "your data are spread across several departments, systems or service providers,"
        " all of which must be searched",
    },
    "redaction_needed": {
        "fr": "certains documents contiennent aussi des informations sur d'autres personnes, qu'il"
        " faut masquer pour protéger leurs droits (article 15, paragraphe 4, du RGPD)",
        "en": "some documents also contain information about other people, which must be"
        " redacted to protect their rights (Art. 15(4) GDPR)",
    },
    "several_requests": {
        "fr": "vous nous avez adressé plusieurs demandes, qui doivent être traitées ensemble",
        "en": "you have made several requests, which must be handled together",
    },
    "exceptional_surge": {
        "fr": "nous faisons face à un afflux exceptionnel et temporaire de demandes",
        "en": "we are facing an exceptional and temporary surge in requests",
    },
}

# Fields a rectification may change (R25).
FIELD_LABELS: Mapping[str, Mapping[str, str]] = {
    "first_name": {"fr": "Prénom", "en": "First name"},
    "last_name": {"fr": "Nom", "en": "Last name"},
    "phone": {"fr": "Numéro de téléphone", "en": "Phone number"},
    "postal_address": {"fr": "Adresse postale", "en": "Postal address"},
}

# Marketing channels (R30-R32).
CHANNEL_LABELS: Mapping[str, Mapping[str, str]] = {
    "email": {"fr": "e-mail", "en": "e-mail"},
    "sms": {"fr": "SMS", "en": "text message (SMS)"},
    "phone": {"fr": "téléphone", "en": "telephone"},
    "post": {"fr": "courrier postal", "en": "post"},
}

# The four cases of Art. 18(1) (R27).
RESTRICTION_GROUNDS: Mapping[str, Mapping[str, str]] = {
    "accuracy_contested": {
        "fr": "vous contestez l'exactitude de vos données, le temps que nous la vérifiions"
        " (article 18, paragraphe 1, point a, du RGPD)",
        "en": "you contest the accuracy of your data, for the time we need to verify it (Art. 18(1)(a) GDPR)",
    },
    "unlawful_processing": {
        "fr": "le traitement est illicite et vous avez choisi la limitation plutôt que"
        " l'effacement (article 18, paragraphe 1, point b, du RGPD)",
        "en": "the processing is unlawful and you chose restriction rather than erasure (Art. 18(1)(b) GDPR)",
    },
    "legal_claims": {
        "fr": "nous n'avons plus besoin de ces données, mais elles vous sont nécessaires pour la"
        " constatation, l'exercice ou la défense de droits en justice"
        " (article 18, paragraphe 1, point c, du RGPD)",
        "en": "we no longer need the data, but you need them for the establishment, exercise or"
        " defence of legal claims (Art. 18(1)(c) GDPR)",
    },
    "objection_pending": {
        "fr": "vous avez exercé votre droit d'opposition et nous vérifions si nos motifs"
        " légitimes prévalent sur les vôtres (article 18, paragraphe 1, point d, du RGPD)",
        "en": "you have objected to the processing and we are checking whether our legitimate"
        " grounds override yours (Art. 18(1)(d) GDPR)",
    },
}

# Why a restriction ends (Art. 18(3), schemas.decisions.LiftReason).
LIFT_REASONS: Mapping[str, Mapping[str, str]] = {
    "accuracy_verified": {
        "fr": "nous avons terminé la vérification de l'exactitude de vos données",
        "en": "we have finished checking the accuracy of your data",
    },
    "objection_decided": {
        "fr": "nous avons statué sur votre opposition",
        "en": "we have reached a decision on your objection",
    },
    "legal_claims_ended": {
        "fr": "ces données ne vous sont plus nécessaires pour la constatation, l'exercice ou la"
        " défense de droits en justice",
        "en": "you no longer need these data for the establishment, exercise or defence of legal claims",
    },
    "person_request": {
        "fr": "vous nous avez demandé de lever la limitation",
        "en": "you asked us to lift the restriction",
    },
}

# Art. 6(1): portability needs (a) or (b) (R28); the access response names the basis per purpose.
LEGAL_BASES: Mapping[str, Mapping[str, str]] = {
    "consent": {
        "fr": "votre consentement (article 6, paragraphe 1, point a, du RGPD)",
        "en": "your consent (Art. 6(1)(a) GDPR)",
    },
    "contract": {
        "fr": "l'exécution d'un contrat, ou de mesures précontractuelles prises à votre demande"
        " (article 6, paragraphe 1, point b, du RGPD)",
        "en": "the performance of a contract, or steps taken at your request before entering"
        " into one (Art. 6(1)(b) GDPR)",
    },
    "legal_obligation": {
        "fr": "le respect d'une obligation légale (article 6, paragraphe 1, point c, du RGPD)",
        "en": "compliance with a legal obligation (Art. 6(1)(c) GDPR)",
    },
    "vital_interests": {
        "fr": "la sauvegarde d'intérêts vitaux (article 6, paragraphe 1, point d, du RGPD)",
        "en": "the protection of vital interests (Art. 6(1)(d) GDPR)",
    },
    "public_task": {
        "fr": "l'exécution d'une mission d'intérêt public (article 6, paragraphe 1, point e, du RGPD)",
        "en": "the performance of a task carried out in the public interest (Art. 6(1)(e) GDPR)",
    },
    "legitimate_interest": {
        "fr": "notre intérêt légitime (article 6, paragraphe 1, point f, du RGPD)",
        "en": "our legitimate interests (Art. 6(1)(f) GDPR)",
    },
}

# What a fee rests on (R20-R21).
FEE_BASES: Mapping[str, Mapping[str, str]] = {
    "further_copy": {
        "fr": "copie supplémentaire des mêmes données (article 15, paragraphe 3, du RGPD)",
        "en": "further copy of the same data (Art. 15(3) GDPR)",
    },
    "manifestly_excessive": {
        "fr": "demande manifestement excessive (article 12, paragraphe 5, du RGPD)",
        "en": "manifestly excessive request (Art. 12(5) GDPR)",
    },
}

# Why we do not act (R11, R21, schemas.decisions.RefusalReason).
REFUSAL_REASONS: Mapping[str, Mapping[str, str]] = {
    "manifestly_unfounded": {
        "fr": "demande manifestement infondée (article 12, paragraphe 5, point b, du RGPD)",
        "en": "manifestly unfounded request (Art. 12(5)(b) GDPR)",
    },
    "manifestly_excessive": {
        "fr": "demande manifestement excessive, notamment en raison de son caractère répétitif"
        " (article 12, paragraphe 5, point b, du RGPD)",
        "en": "manifestly excessive request, in particular because of its repetitive character (Art. 12(5)(b) GDPR)",
    },
    "legal_obligation": {
        "fr": "une obligation légale nous impose de conserver ou de traiter ces données",
        "en": "a legal obligation requires us to keep or process these data",
    },
    "legal_claims": {
        "fr": "nous devons conserver ces données pour la constatation, l'exercice ou la défense de droits en"
        " justice (article 17, paragraphe 3, point e, du RGPD)",
        "en": "we must keep these data for the establishment, exercise or defence of legal claims (Art. 17(3)(e) GDPR)",
    },
    "rights_of_others": {
        "fr": "y donner suite porterait atteinte aux droits et libertés d'autres personnes"
        " (article 15, paragraphe 4, du RGPD)",
        "en": "acting on it would adversely affect the rights and freedoms of others (Art. 15(4) GDPR)",
    },
    "other": {"fr": "voir nos explications ci-dessous", "en": "see our explanation below"},
}

# Why an ID document is asked for: the "situation requires it" of D2019 art. 77 (R14, §3.2 L3).
ID_REASONS: Mapping[str, Mapping[str, str]] = {
    "challenge_failed": {
        "fr": "la confirmation que nous vous avons demandée par les coordonnées enregistrées dans"
        " nos fichiers n'a pas pu aboutir, et vous souhaitez maintenir votre demande",
        "en": "the confirmation we asked for through the contact details we hold on file could"
        " not be completed, and you wish to maintain your request",
    },
    "no_channel_on_file": {
        "fr": "nous ne détenons aucune adresse e-mail ni aucun numéro de téléphone vous"
        " permettant de confirmer la demande, et celle-ci vise à obtenir communication de vos"
        " données",
        "en": "we hold no e-mail address or phone number through which you could confirm the"
        " request, and it asks us to disclose your data",
    },
    "sensitive_data": {
        "fr": "votre demande porte sur des documents qui peuvent contenir des informations"
        " sensibles (par exemple un CV), dont la communication à une autre personne pourrait"
        " vous causer un préjudice important",
        "en": "your request concerns documents that may contain sensitive information (for"
        " example a CV), and disclosing them to someone else could seriously harm you",
    },
}

# Who reports a death (R39-R40).
REQUESTER_ROLES: Mapping[str, Mapping[str, str]] = {
    "heir": {"fr": "héritier ou héritière", "en": "heir"},
    "executor": {
        "fr": "personne chargée d'exécuter les directives post mortem",
        "en": "person named to carry out the post-mortem directives",
    },
}

# Who acts for the person (R6, schemas.intake.Representative.role), in the DPO's e-mails.
REPRESENTATIVE_ROLES: Mapping[str, Mapping[str, str]] = {
    "lawyer": {"fr": "avocat", "en": "lawyer"},
    "parent": {"fr": "titulaire de l'autorité parentale", "en": "holder of parental authority"},
    "association": {"fr": "association", "en": "association"},
    "other": {"fr": "autre mandataire", "en": "other representative"},
}

# What the DPO must decide, and the command that records it (R29, R14-R16, R39).
DECISION_KINDS: Mapping[str, Mapping[str, str]] = {
    "objection_general": {
        "fr": "opposition à un traitement fondé sur l'intérêt légitime (article 21, paragraphe 1, du RGPD)",
        "en": "objection to processing based on legitimate interests (Art. 21(1) GDPR)",
    },
    "directives_on_file": {
        "fr": "directives post mortem enregistrées à appliquer (article 85 de la loi Informatique et Libertés)",
        "en": "post-mortem directives on file to apply (Art. 85 of the French Data Protection Act)",
    },
    "identity_review": {
        "fr": "vérification manuelle de l'identité (niveau L3)",
        "en": "manual identity review (level L3)",
    },
    "death_notified": {
        "fr": "décès signalé, justificatifs à vérifier",
        "en": "death reported, proof to check",
    },
    "estate_access": {
        "fr": "héritier demandant les informations utiles au règlement de la succession (article 85, II, de la loi"
        " Informatique et Libertés)",
        "en": "heir asking for the information needed to settle the estate (Art. 85-II of the French Data"
        " Protection Act)",
    },
    "document_received": {
        "fr": "justificatif déposé sur la page sécurisée, à vérifier dans la console (il sera supprimé après la"
        " vérification)",
        "en": "document uploaded on the secure page, to check in the console (it is deleted once checked)",
    },
    "partial_refusal_due": {
        "fr": "refus partiel à notifier avant la date limite initiale (article 12, paragraphe 4, du RGPD)",
        "en": "partial refusal to notify by the initial deadline (Art. 12(4) GDPR)",
    },
}
# Spelt as dsr/case_cli.py defines them (a unit test parses each against it): `a|b` is a choice,
# `[...]` is optional, " → " leads to the next step (the same arrow in both languages). Who decides
# is `--by ROLE`, which defaults to $DSR_DPO_ROLE and so is not shown.
DECISION_COMMANDS: Mapping[str, str] = {
    "objection_general": 'dsr case decide-objection {reference} --uphold|--reject --explanation "..."',
    "directives_on_file": 'dsr case apply-directives {reference} [--keep] [--explanation "..."]',
    "identity_review": "dsr case request-id {reference}"
    " --reason challenge_failed|no_channel_on_file|sensitive_data"
    " → dsr case verify-id {reference}",
    "death_notified": "dsr case verify-id {reference}",
    "document_received": "dsr case verify-id {reference}",
    "estate_access": 'dsr case estate-access {reference} --category C [--category C2] --explanation "..."',
    "partial_refusal_due": "dsr case refuse {reference} --partial"
    ' --reason legal_obligation|legal_claims|rights_of_others|other --explanation "..."',
}

# Case statuses, as the DPO reads them in reminders (gdpr.case_state.Status).
STATUS_LABELS: Mapping[str, Mapping[str, str]] = {
    "discovering": {
        "fr": "recherche des systèmes qui détiennent des données",
        "en": "finding the systems that hold data",
    },
    "awaiting_verification": {
        "fr": "en attente de la confirmation de l'identité",
        "en": "waiting for the identity to be confirmed",
    },
    "awaiting_proof": {
        "fr": "en attente des justificatifs d'un décès",
        "en": "waiting for proof of a death",
    },
    "awaiting_decision": {"fr": "en attente de votre décision", "en": "waiting for your decision"},
    "processing": {"fr": "tâches en cours dans les systèmes", "en": "tasks under way in the systems"},
    "answering": {"fr": "réponse en cours d'envoi", "en": "answer being sent"},
    "restricted": {
        "fr": "limitation en place, jusqu'à sa levée",
        "en": "restriction in place until it is lifted",
    },
    "closed": {"fr": "clos", "en": "closed"},
}

# What a system was asked to do (schemas.tasks.TaskAction), in the DPO's alerts.
ACTION_LABELS: Mapping[str, Mapping[str, str]] = {
    "lookup": {"fr": "recherche des données", "en": "looking up the data"},
    "export": {"fr": "extraction des données", "en": "data export"},
    "erase": {"fr": "effacement", "en": "erasure"},
    "rectify": {"fr": "rectification", "en": "rectification"},
    "restrict": {"fr": "limitation", "en": "restriction"},
    "lift_restriction": {"fr": "levée de la limitation", "en": "lifting of the restriction"},
    "suppress_marketing": {"fr": "arrêt de la prospection", "en": "stopping marketing"},
    "notify_recipient": {
        "fr": "information d'un destinataire (article 19 du RGPD)",
        "en": "notice to a recipient (Art. 19 GDPR)",
    },
    "record_submission": {"fr": "enregistrement d'un formulaire", "en": "recording a form"},
    "record_contact": {"fr": "enregistrement d'un contact de la personne", "en": "recording a contact from the person"},
}

# The e-mails themselves, named in the DPO's alert about an undelivered one.
MESSAGE_LABELS: Mapping[MessageType, Mapping[str, str]] = {
    MessageType.FORM_ACKNOWLEDGEMENT: {"fr": "accusé de réception d'un formulaire", "en": "form acknowledgement"},
    MessageType.DPO_RETENTION_REPORT: {
        "fr": "rapport de la purge des durées de conservation",
        "en": "retention sweep report",
    },
    MessageType.RETENTION_RECONTACT: {
        "fr": "question au prospect avant la fin de sa durée de conservation",
        "en": "question to a prospect before the end of their retention period",
    },
    MessageType.RECEIPT: {"fr": "accusé de réception de la demande", "en": "acknowledgement of the request"},
    MessageType.VERIFICATION: {"fr": "demande de confirmation", "en": "request to confirm"},
    MessageType.VERIFICATION_CHALLENGE: {
        "fr": "demande de confirmation à l'adresse enregistrée",
        "en": "request to confirm, sent to the address on file",
    },
    MessageType.VERIFICATION_REMINDER: {"fr": "rappel de confirmation", "en": "confirmation reminder"},
    MessageType.IDENTITY_NOT_VERIFIED: {
        "fr": "clôture faute de confirmation de l'identité",
        "en": "closure: identity not confirmed",
    },
    MessageType.ID_DOCUMENT_REQUEST: {
        "fr": "demande de justificatif d'identité",
        "en": "request for proof of identity",
    },
    MessageType.DEADLINE_UPDATE: {"fr": "nouvelle date limite de réponse", "en": "new deadline for the answer"},
    MessageType.CHALLENGE_UNANSWERED: {
        "fr": "confirmation non reçue, au demandeur écrivant d'une autre adresse",
        "en": "confirmation not received, to the requester writing from another address",
    },
    MessageType.EXTENSION: {"fr": "prolongation du délai", "en": "extension of the deadline"},
    MessageType.FEE_NOTICE: {"fr": "avis de frais", "en": "fee notice"},
    MessageType.REFUSAL: {"fr": "refus motivé", "en": "reasoned refusal"},
    MessageType.OUTCOME_ACCESS: {"fr": "réponse à la demande d'accès", "en": "answer to the access request"},
    MessageType.OUTCOME_NO_DATA: {"fr": "réponse\u00a0: aucune donnée", "en": "answer: no data held"},
    MessageType.OUTCOME_ERASURE: {"fr": "réponse à la demande d'effacement", "en": "answer to the erasure request"},
    MessageType.OUTCOME_RECTIFICATION: {
        "fr": "réponse à la demande de rectification",
        "en": "answer to the rectification request",
    },
    MessageType.OUTCOME_RESTRICTION: {
        "fr": "réponse à la demande de limitation",
        "en": "answer to the restriction request",
    },
    MessageType.RESTRICTION_LIFT_NOTICE: {
        "fr": "avis de levée de la limitation",
        "en": "notice before lifting the restriction",
    },
    MessageType.OUTCOME_PORTABILITY: {
        "fr": "réponse à la demande de portabilité",
        "en": "answer to the portability request",
    },
    MessageType.PORTABILITY_NOT_APPLICABLE: {
        "fr": "réponse\u00a0: portabilité non applicable",
        "en": "answer: portability does not apply",
    },
    MessageType.OUTCOME_OBJECTION: {
        "fr": "réponse à l'opposition à la prospection",
        "en": "answer to the marketing objection",
    },
    MessageType.OBJECTION_DECISION: {"fr": "décision sur l'opposition", "en": "decision on the objection"},
    MessageType.OUTCOME_CONSENT_WITHDRAWAL: {
        "fr": "réponse au retrait du consentement",
        "en": "answer to the withdrawal of consent",
    },
    MessageType.DIRECTIVE_RECORDED: {"fr": "enregistrement des directives", "en": "directives recorded"},
    MessageType.DIRECTIVE_REVOKED: {"fr": "révocation des directives", "en": "directives revoked"},
    MessageType.HEIR_RECEIPT: {"fr": "accusé de réception à l'héritier", "en": "acknowledgement to the heir"},
    MessageType.DEATH_PROOF_REQUEST: {
        "fr": "demande de justificatifs du décès",
        "en": "request for proof of the death",
    },
    MessageType.DEATH_PROOF_MISSING: {
        "fr": "clôture faute de justificatifs du décès",
        "en": "closure: no proof of the death",
    },
    MessageType.HEIR_JUSTIFICATION: {"fr": "justification des opérations aux héritiers", "en": "account to the heirs"},
    MessageType.ESTATE_ACCESS: {
        "fr": "informations utiles au règlement de la succession, à l'héritier",
        "en": "information to settle the estate, to the heir",
    },
}

# Recipients' countries in the access response (Art. 15(1)(c), 15(2), R48). An unlisted code is
# shown as it is: it still tells the person where their data go.
COUNTRY_LABELS: Mapping[str, Mapping[str, str]] = {
    "FR": {"fr": "France", "en": "France"},
    "DE": {"fr": "Allemagne", "en": "Germany"},
    "BE": {"fr": "Belgique", "en": "Belgium"},
    "ES": {"fr": "Espagne", "en": "Spain"},
    "IE": {"fr": "Irlande", "en": "Ireland"},
    "IT": {"fr": "Italie", "en": "Italy"},
    "LU": {"fr": "Luxembourg", "en": "Luxembourg"},
    "NL": {"fr": "Pays-Bas", "en": "Netherlands"},
    "PT": {"fr": "Portugal", "en": "Portugal"},
    "CH": {"fr": "Suisse", "en": "Switzerland"},
    "GB": {"fr": "Royaume-Uni", "en": "United Kingdom"},
    "US": {"fr": "États-Unis", "en": "United States"},
    "CA": {"fr": "Canada", "en": "Canada"},
    "IN": {"fr": "Inde", "en": "India"},
    "MA": {"fr": "Maroc", "en": "Morocco"},
    "TN": {"fr": "Tunisie", "en": "Tunisia"},
}

# Filter name -> table: each filter prints the label of a code in the reader's language, and
# raises on an unknown code instead of printing it.
# What the retention sweep does to a category past its end (gdpr.register.Action, R44, R46).
RETENTION_ACTIONS: Mapping[str, Mapping[str, str]] = {
    "delete": {"fr": "effacement", "en": "erasure"},
    "anonymise": {"fr": "anonymisation", "en": "anonymisation"},
    "archive": {"fr": "passage en archive à accès restreint", "en": "move to the restricted archive"},
}

LABEL_TABLES: Mapping[str, tuple[Mapping[str, Mapping[str, str]], str]] = {
    "right_label": (RIGHT_LABELS, "right"),
    "ground_label": (KEEP_GROUNDS, "keep ground"),
    "reason_label": (REASON_LABELS, "extension reason"),
    "field_label": (FIELD_LABELS, "field"),
    "channel_label": (CHANNEL_LABELS, "channel"),
    "restriction_label": (RESTRICTION_GROUNDS, "restriction ground"),
    "lift_reason_label": (LIFT_REASONS, "lift reason"),
    "basis_label": (LEGAL_BASES, "legal basis"),
    "fee_basis_label": (FEE_BASES, "fee basis"),
    "refusal_label": (REFUSAL_REASONS, "refusal reason"),
    "id_reason_label": (ID_REASONS, "ID reason"),
    "role_label": (REQUESTER_ROLES, "requester role"),
    "decision_label": (DECISION_KINDS, "decision kind"),
    "status_label": (STATUS_LABELS, "case status"),
    "action_label": (ACTION_LABELS, "task action"),
    "message_label": (MESSAGE_LABELS, "message type"),
    "retention_action_label": (RETENTION_ACTIONS, "retention action"),
}
