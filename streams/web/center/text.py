"""What the privacy center says, in French and English (French typography: a no-break space before ; : ? !)."""

from __future__ import annotations

from mail.labels import CHANNEL_LABELS, REQUESTER_ROLES, RESTRICTION_GROUNDS

NBSP = "\u00a0"

RIGHTS = {
    "fr": {
        "access": (
            "Accéder à vos données",
            "Recevoir une copie des données que nous détenons sur vous et savoir comment nous les utilisons (article 15 du RGPD).",
        ),
        "rectification": (
            "Corriger vos données",
            "Faire corriger des données inexactes ou compléter des données incomplètes (article 16).",
        ),
        "erasure": (
            "Effacer vos données",
            "Faire effacer vos données, sauf celles que la loi nous oblige à garder, que nous vous indiquerons (article 17).",
        ),
        "restriction": (
            "Limiter l'utilisation de vos données",
            "Geler l'utilisation de vos données, par exemple le temps de vérifier leur exactitude (article 18).",
        ),
        "portability": (
            "Récupérer vos données",
            "Recevoir les données que vous nous avez fournies dans un format réutilisable (article 20).",
        ),
        "objection": (
            "Vous opposer à une utilisation",
            "Ne plus recevoir de prospection, ou vous opposer à un traitement fondé sur notre intérêt légitime (article 21).",
        ),
        "consent_withdrawal": (
            "Retirer votre consentement",
            "Ne plus recevoir nos offres par e-mail, SMS, téléphone ou courrier (article 7, paragraphe 3).",
        ),
        "directives": (
            "Laisser des directives",
            "Dire ce que nous devrons faire de vos données après votre décès (article 85 de la loi Informatique et Libertés).",
        ),
        "death": (
            "Signaler un décès",
            "Nous informer du décès d'un proche, en tant qu'héritier ou personne chargée d'exécuter ses directives.",
        ),
    },
    "en": {
        "access": (
            "See your data",
            "Receive a copy of the data we hold about you and learn how we use it (Article 15 GDPR).",
        ),
        "rectification": (
            "Correct your data",
            "Have inaccurate data corrected or incomplete data completed (Article 16).",
        ),
        "erasure": (
            "Erase your data",
            "Have your data erased, except what the law requires us to keep, which we will tell you (Article 17).",
        ),
        "restriction": (
            "Restrict the use of your data",
            "Freeze the use of your data, for instance while its accuracy is checked (Article 18).",
        ),
        "portability": (
            "Take your data with you",
            "Receive the data you gave us in a format you can reuse (Article 20).",
        ),
        "objection": (
            "Object to a use of your data",
            "Stop receiving marketing, or object to processing based on our legitimate interest (Article 21).",
        ),
        "consent_withdrawal": (
            "Withdraw your consent",
            "Stop receiving our offers by e-mail, text message, telephone or post (Article 7(3)).",
        ),
        "directives": (
            "Leave directives",
            "Say what we should do with your data after your death (Article 85 of the French Data Protection Act).",
        ),
        "death": (
            "Report a death",
            "Tell us that someone close to you has died, as an heir or as the person named to carry out their directives.",
        ),
    },
}

FIELDS = {
    "fr": {
        "email": ("Votre adresse e-mail", "Celle que vous nous avez donnée : nous y enverrons nos réponses."),
        "name": ("Votre nom", "Facultatif : il nous aide à retrouver vos données."),
        "first_name": ("Prénom exact", ""),
        "last_name": ("Nom exact", ""),
        "phone": ("Numéro de téléphone exact", ""),
        "street": ("Adresse postale exacte : numéro et rue", ""),
        "postal_code": ("Code postal", ""),
        "city": ("Ville", ""),
        "ground": ("Dans quel cas êtes-vous ?", ""),
        "scope": ("À quoi vous opposez-vous ?", ""),
        "channels": ("Canaux concernés", "Sans choix, tous les canaux."),
        "instructions": ("Vos directives", "Par exemple : transmettre mon dossier à une personne, puis tout effacer."),
        "executor_name": ("Personne chargée de les exécuter", "Facultatif."),
        "specific_consent": (
            "Je consens à ce que mes directives soient enregistrées et appliquées après mon décès.",
            "Ce consentement est distinct de nos conditions générales ; vous pourrez révoquer vos directives à tout moment.",
        ),
        "deceased_email": ("Adresse e-mail de la personne décédée", ""),
        "deceased_name": ("Nom de la personne décédée", ""),
        "requester_role": ("Vous agissez en tant que", ""),
        "requester_name": ("Votre nom", ""),
        "contact_email": (
            "Votre adresse e-mail",
            "Nous y enverrons nos réponses, et le lien pour déposer les justificatifs.",
        ),
    },
    "en": {
        "email": ("Your e-mail address", "The one you gave us: our answers will go there."),
        "name": ("Your name", "Optional: it helps us find your data."),
        "first_name": ("Correct first name", ""),
        "last_name": ("Correct last name", ""),
        "phone": ("Correct telephone number", ""),
        "street": ("Correct postal address: number and street", ""),
        "postal_code": ("Postcode", ""),
        "city": ("Town or city", ""),
        "ground": ("Which case applies to you?", ""),
        "scope": ("What do you object to?", ""),
        "channels": ("Channels", "If you choose none, every channel."),
        "instructions": ("Your directives", "For example: send my file to a named person, then erase everything."),
        "executor_name": ("Person named to carry them out", "Optional."),
        "specific_consent": (
            "I consent to my directives being recorded and applied after my death.",
            "This consent is separate from our terms and conditions; you can revoke your directives at any time.",
        ),
        "deceased_email": ("E-mail address of the person who died", ""),
        "deceased_name": ("Name of the person who died", ""),
        "requester_role": ("You are acting as", ""),
        "requester_name": ("Your name", ""),
        "contact_email": ("Your e-mail address", "Our answers will go there, with the link to send the documents."),
    },
}

SCOPES = {
    "direct_marketing": {"fr": "la prospection commerciale, sur tous les canaux", "en": "marketing, on every channel"},
    "legitimate_interest": {
        "fr": "un traitement fondé sur notre intérêt légitime (nous examinerons votre situation)",
        "en": "processing based on our legitimate interest (we will examine your situation)",
    },
}
OPTIONS = {
    "ground": RESTRICTION_GROUNDS,
    "scope": SCOPES,
    "channels": CHANNEL_LABELS,
    "requester_role": REQUESTER_ROLES,
}

PAGE = {
    "fr": {
        "site": "Vos données personnelles",
        "skip": "Aller au contenu",
        "switch": "English",
        "switch_lang": "en",
        "switch_label": "Read this page in English",
        "intro": "Vous pouvez exercer ici les droits que vous donne le RGPD sur les données personnelles que {name} détient sur vous. C'est gratuit ; nous ne vous demandons ni justificatif d'identité ni motif. Nous vous répondons dans un délai d'un mois.",
        "choose": "Choisissez votre demande",
        "back": "Retour au choix des demandes",
        "required": "obligatoire",
        "submit": "Envoyer ma demande",
        "privacy": "Politique de confidentialité",
        "dpo": "Délégué à la protection des données",
        "errors_title": "Votre demande n'a pas été envoyée : vérifiez les champs signalés.",
        "error_required": "Ce champ est obligatoire.",
        "error_invalid": "Vérifiez ce champ.",
        "error_form": "Indiquez au moins une donnée à corriger.",
        "received_title": "Demande reçue",
        "reference": "Référence",
        "deadline": "Réponse au plus tard le",
        "received": "Votre demande est enregistrée. Vous allez recevoir un accusé de réception par e-mail, avec un lien pour suivre votre demande. Pour protéger vos données, nous vous demanderons peut-être de la confirmer par un lien envoyé à l'adresse que nous connaissons.",
        "keep_reference": "Gardez cette référence : elle vous sera utile si vous nous écrivez.",
        "limited_title": "Trop de demandes",
        "limited": "Nous avons reçu trop de demandes récemment depuis cette adresse ou cette connexion. Réessayez dans {minutes} minutes.",
        "expired_title": "Formulaire expiré",
        "expired": "Ce formulaire a expiré ou n'a pas été envoyé depuis notre site. Rechargez la page et envoyez-le de nouveau.",
    },
    "en": {
        "site": "Your personal data",
        "skip": "Skip to content",
        "switch": "Français",
        "switch_lang": "fr",
        "switch_label": "Lire cette page en français",
        "intro": "Here you can exercise the rights the GDPR gives you over the personal data {name} holds about you. It is free; we ask for no proof of identity and no reason. We answer within one month.",
        "choose": "Choose your request",
        "back": "Back to the list of requests",
        "required": "required",
        "submit": "Send my request",
        "privacy": "Privacy policy",
        "dpo": "Data protection officer",
        "errors_title": "Your request was not sent: please check the fields marked below.",
        "error_required": "This field is required.",
        "error_invalid": "Please check this field.",
        "error_form": "Give at least one piece of data to correct.",
        "received_title": "Request received",
        "reference": "Reference",
        "deadline": "Answer due by",
        "received": "Your request is recorded. You will receive an acknowledgement by e-mail, with a link to follow your request. To protect your data, we may ask you to confirm it through a link sent to the address we know.",
        "keep_reference": "Keep this reference: it will help if you write to us.",
        "limited_title": "Too many requests",
        "limited": "We have received too many requests recently from this address or this connection. Please try again in {minutes} minutes.",
        "expired_title": "Form expired",
        "expired": "This form has expired or was not sent from our site. Reload the page and send it again.",
    },
}


def french(text: str) -> str:
    """A no-break space before the high punctuation, as French typography wants it."""
    for mark in (":", ";", "?", "!"):
        text = text.replace(f" {mark}", f"{NBSP}{mark}")
    return text


def text(language: str) -> dict:
    page = PAGE[language]
    return {k: french(v) for k, v in page.items()} if language == "fr" else dict(page)


STATUS = {
    "fr": {
        "title": "Suivi de votre demande",
        "right": "Droit exercé",
        "received_on": "Reçue le",
        "deadline": "Réponse au plus tard le",
        "initial_deadline": "Date limite initiale",
        "closed_on": "Clôturée le",
        "where": "Où en est votre demande",
        "discovering": "Reçue : nous recherchons vos données dans nos systèmes.",
        "awaiting_verification": "En attente de votre confirmation : suivez le lien de l'e-mail que nous vous avons envoyé.",
        "awaiting_document": "En attente du justificatif que nous vous avons demandé.",
        "awaiting_proof": "En attente des justificatifs que nous vous avons demandés.",
        "document_received": "Justificatif reçu le {date} : nous le vérifions, puis nous le supprimerons.",
        "awaiting_decision": "En cours d'examen par notre délégué à la protection des données.",
        "processing": "En cours de traitement dans nos systèmes.",
        "answering": "Traitée : notre réponse vous est envoyée par e-mail.",
        "restricted": "Traitée : la limitation de l'utilisation de vos données est en place.",
        "closed": "Clôturée : notre réponse vous a été envoyée par e-mail.",
        "withdrawn": "Retirée à votre demande le {date}. Ce qui a déjà été fait dans nos systèmes le reste.",
        "extended": "Nous avons prolongé le délai de réponse de deux mois, pour les raisons suivantes :",
        "upload": "Déposer le justificatif demandé",
        "withdraw_title": "Retirer votre demande",
        "withdraw_text": "Si vous ne souhaitez plus que nous donnions suite à cette demande, vous pouvez la retirer. Ce que nos systèmes ont déjà fait ne sera pas annulé.",
        "withdraw_button": "Retirer ma demande",
        "withdrawn_now": "Votre demande est retirée. Vous pouvez en faire une nouvelle à tout moment.",
        "too_late": "Votre demande ne peut plus être retirée : notre réponse est déjà en cours d'envoi.",
        "gone_title": "Demande introuvable",
        "gone": "Cette demande n'est plus consultable : son dossier a été supprimé au terme de sa durée de conservation.",
        "invalid_title": "Lien non valable",
        "invalid": "Ce lien n'est pas valable ou a expiré. Vérifiez qu'il a été copié en entier.",
    },
    "en": {
        "title": "Your request",
        "right": "Right exercised",
        "received_on": "Received on",
        "deadline": "Answer due by",
        "initial_deadline": "Initial deadline",
        "closed_on": "Closed on",
        "where": "Where your request stands",
        "discovering": "Received: we are looking for your data in our systems.",
        "awaiting_verification": "Waiting for your confirmation: follow the link in the e-mail we sent you.",
        "awaiting_document": "Waiting for the document we asked you for.",
        "awaiting_proof": "Waiting for the documents we asked you for.",
        "document_received": "Document received on {date}: we are checking it, and will then delete it.",
        "awaiting_decision": "Being examined by our data protection officer.",
        "processing": "Being carried out in our systems.",
        "answering": "Done: our answer is on its way to you by e-mail.",
        "restricted": "Done: the restriction on the use of your data is in place.",
        "closed": "Closed: our answer was sent to you by e-mail.",
        "withdrawn": "Withdrawn at your request on {date}. What our systems had already done stays done.",
        "extended": "We have extended the time to answer by two months, for these reasons:",
        "upload": "Send the document we asked for",
        "withdraw_title": "Withdraw your request",
        "withdraw_text": "If you no longer want us to act on this request, you can withdraw it. What our systems have already done will not be undone.",
        "withdraw_button": "Withdraw my request",
        "withdrawn_now": "Your request is withdrawn. You can make a new one at any time.",
        "too_late": "Your request can no longer be withdrawn: our answer is already on its way.",
        "gone_title": "Request not found",
        "gone": "This request can no longer be shown: its record was deleted at the end of its retention period.",
        "invalid_title": "Invalid link",
        "invalid": "This link is not valid or has expired. Please check it was copied in full.",
    },
}

UPLOAD = {
    "fr": {
        "title": "Envoyer un justificatif",
        "id_document": "Pour donner suite à votre demande, nous avons besoin de vérifier votre identité. Déposez ici la copie d'un titre d'identité portant votre signature : carte nationale d'identité, passeport ou titre de séjour. Vous pouvez masquer toutes les informations qui y figurent, sauf votre nom, la date de validité du titre et l'autorité qui l'a délivré.",
        "death_proof": "Déposez ici, en un seul fichier, la copie de l'acte de décès et le justificatif de votre qualité (acte de notoriété ou livret de famille pour un héritier, pièce d'identité pour la personne chargée d'exécuter les directives).",
        "use": "Ce document est chiffré dès sa réception. Il sert uniquement à cette vérification : nous le supprimons dès qu'elle est faite, et au plus tard 30 jours après son dépôt, et nous ne gardons que la mention « vérifié le [date] par [fonction] ».",
        "file": "Fichier (PDF, JPEG ou PNG, 10 Mo au plus)",
        "send": "Envoyer le document",
        "received_title": "Document reçu",
        "received": "Merci. Nous avons bien reçu votre document le {date}. Le délai de réponse reprend à compter de cette date ; nous vous écrirons une fois la vérification faite.",
        "bad_file": "Ce fichier n'a pas pu être accepté : envoyez un PDF, un JPEG ou un PNG de 10 Mo au plus.",
        "not_awaited_title": "Aucun document attendu",
        "not_awaited": "Nous n'attendons plus de document pour cette demande.",
    },
    "en": {
        "title": "Send a document",
        "id_document": "To act on your request, we need to check your identity. Upload here a copy of an identity document bearing your signature: national identity card, passport or residence permit. You may black out everything on it except your name, the validity date and the issuing authority.",
        "death_proof": "Upload here, as one file, a copy of the death certificate and proof of your standing (an acte de notoriété or the livret de famille for an heir; proof of identity for the person named to carry out the directives).",
        "use": 'This document is encrypted as soon as it arrives. It is used for this check only: we delete it once the check is done, and at the latest 30 days after it was sent, and keep only the note "checked on [date] by [role]".',
        "file": "File (PDF, JPEG or PNG, 10 MB at most)",
        "send": "Send the document",
        "received_title": "Document received",
        "received": "Thank you. We received your document on {date}. The time to answer runs again from that date; we will write to you once it has been checked.",
        "bad_file": "This file could not be accepted: please send a PDF, JPEG or PNG of 10 MB at most.",
        "not_awaited_title": "No document awaited",
        "not_awaited": "We are no longer waiting for a document for this request.",
    },
}


VERIFY = {
    "fr": {
        "confirm_title": "Confirmer votre demande",
        "confirm": "Pour protéger vos données, confirmez que cette demande vient bien de vous.",
        "button": "Je confirme ma demande",
        "done_title": "Demande confirmée",
        "done": "Merci. Votre demande est confirmée ; vous recevrez notre réponse par e-mail.",
        "already": "Cette demande est déjà confirmée ; vous n'avez rien d'autre à faire.",
        "invalid_title": "Lien non valable",
        "expired": "Ce lien a expiré. Vous pouvez renouveler votre demande.",
        "invalid": "Ce lien n'est pas valable. Vérifiez qu'il a été copié en entier.",
        "gone": "Cette demande n'attend plus de confirmation.",
    },
    "en": {
        "confirm_title": "Confirm your request",
        "confirm": "To protect your data, please confirm that this request comes from you.",
        "button": "I confirm my request",
        "done_title": "Request confirmed",
        "done": "Thank you. Your request is confirmed; you will receive our answer by e-mail.",
        "already": "This request is already confirmed; there is nothing else to do.",
        "invalid_title": "Invalid link",
        "expired": "This link has expired. You may make your request again.",
        "invalid": "This link is not valid. Please check it was copied in full.",
        "gone": "This request is no longer waiting for confirmation.",
    },
}


def words(table: dict, language: str) -> dict:
    return {k: french(v) for k, v in table[language].items()} if language == "fr" else dict(table[language])
