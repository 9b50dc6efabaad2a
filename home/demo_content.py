"""Text of the Musterstadt demo: sections, articles, standard pages and people."""

SECTIONS = [
    {
        "slug": "rathaus",
        "reviewers": ["Freigabe"],
        "title": "Rathaus",
        "intro": "Stadtrat, Verwaltung und Oberbürgermeisterin: Beschlüsse, Termine und Ansprechpersonen.",
        "responsible_name": "Dr. Helga Sommer",
        "responsible_role": "Leiterin des Presse- und Informationsamts",
        "colour": (11, 61, 110),
    },
    {
        "slug": "buergerservice",
        "reviewers": ["Freigabe"],
        "title": "Bürgerservice",
        "intro": "Ausweise, Anmeldungen und Anträge: was Sie wo und wie erledigen.",
        "responsible_name": "Markus Brandt",
        "responsible_role": "Leiter des Bürgeramts",
        "colour": (0, 105, 92),
    },
    {
        "slug": "kultur",
        "reviewers": ["Freigabe"],
        "title": "Kultur",
        "intro": "Museen, Bibliothek, Theater und Stadtfeste in Musterstadt.",
        "responsible_name": "Aylin Kaya",
        "responsible_role": "Leiterin des Kulturamts",
        "colour": (123, 31, 93),
    },
    {
        "slug": "verkehr",
        "reviewers": ["Freigabe"],
        "title": "Verkehr",
        "intro": "Baustellen, Sperrungen, Radwege und Nahverkehr.",
        "responsible_name": "Jens Albers",
        "responsible_role": "Leiter des Tiefbauamts",
        "colour": (176, 74, 0),
    },
    {
        "slug": "presse",
        "reviewers": ["Chefredaktion"],
        "title": "Presse",
        "intro": "Pressemitteilungen der Stadt Musterstadt.",
        "responsible_name": "Dr. Helga Sommer",
        "responsible_role": "Pressesprecherin der Stadt",
        "colour": (55, 71, 79),
    },
]

# (section slug, kind, title, teaser, tags)
ARTICLES = [
    (
        "rathaus",
        "news",
        "Stadtrat beschließt Haushalt 2027",
        "Mit großer Mehrheit hat der Stadtrat den Haushalt für das kommende Jahr verabschiedet. Schwerpunkte sind Schulen und Radwege.",
        ["Stadtrat", "Haushalt"],
    ),
    (
        "rathaus",
        "news",
        "Bürgersprechstunde der Oberbürgermeisterin im Dezember",
        "Oberbürgermeisterin Petra Lindner lädt zur offenen Sprechstunde ins Rathaus ein. Eine Anmeldung ist nicht nötig.",
        ["Oberbürgermeisterin", "Bürgerbeteiligung"],
    ),
    (
        "rathaus",
        "news",
        "Neue Ortsvorsteherin in Nordheim gewählt",
        "Der Ortsbeirat Nordheim hat Sabine Krüger zur neuen Ortsvorsteherin gewählt.",
        ["Ortsbeirat"],
    ),
    (
        "rathaus",
        "news",
        "Rathaus am Brückentag geschlossen",
        "Am Freitag nach Christi Himmelfahrt bleiben Rathaus und Bürgerämter geschlossen. Online-Dienste stehen weiter zur Verfügung.",
        ["Öffnungszeiten"],
    ),
    (
        "rathaus",
        "news",
        "Klimaschutzkonzept: Beteiligung startet",
        "Bis Ende Januar können alle Musterstädterinnen und Musterstädter Ideen zum neuen Klimaschutzkonzept einbringen.",
        ["Klimaschutz", "Bürgerbeteiligung"],
    ),
    (
        "buergerservice",
        "news",
        "Personalausweis: Termine jetzt online buchen",
        "Termine für Personalausweis und Reisepass lassen sich ab sofort rund um die Uhr online vereinbaren.",
        ["Termine", "Ausweis"],
    ),
    (
        "buergerservice",
        "news",
        "Wohnsitz anmelden: Das brauchen Sie",
        "Wer nach Musterstadt zieht, muss sich innerhalb von zwei Wochen anmelden. Eine Übersicht der nötigen Unterlagen.",
        ["Anmeldung"],
    ),
    (
        "buergerservice",
        "news",
        "Neue Öffnungszeiten im Bürgeramt Süd",
        "Das Bürgeramt Süd öffnet ab Januar donnerstags bis 19 Uhr.",
        ["Öffnungszeiten"],
    ),
    (
        "buergerservice",
        "news",
        "Sperrmüll: Abholung einfacher beantragen",
        "Sperrmüll kann jetzt mit einem kurzen Formular angemeldet werden. Zwei Abholungen im Jahr sind kostenlos.",
        ["Abfall"],
    ),
    (
        "buergerservice",
        "news",
        "Fundbüro zieht in die Marktstraße",
        "Das städtische Fundbüro ist ab Montag in der Marktstraße 12 zu finden.",
        ["Fundbüro"],
    ),
    (
        "kultur",
        "news",
        "Museumsnacht lockt mit 30 Stationen",
        "Am Samstag öffnen Museen, Galerien und Ateliers bis Mitternacht. Ein Ticket gilt für alle Häuser und den Shuttlebus.",
        ["Museum", "Veranstaltung"],
    ),
    (
        "kultur",
        "news",
        "Stadtbibliothek verlängert Öffnungszeiten",
        "Die Stadtbibliothek ist künftig auch sonntags geöffnet – als offener Lernort ohne Beratung.",
        ["Bibliothek"],
    ),
    (
        "kultur",
        "news",
        "Sommerfest im Stadtpark: Programm steht",
        "Drei Tage Musik, Theater und Familienprogramm im Stadtpark. Der Eintritt ist frei.",
        ["Veranstaltung", "Stadtpark"],
    ),
    (
        "kultur",
        "news",
        "Theater Musterstadt feiert 150 Jahre",
        "Mit einer Festwoche und einem Tag der offenen Tür feiert das Stadttheater sein Jubiläum.",
        ["Theater", "Jubiläum"],
    ),
    (
        "kultur",
        "news",
        "Kulturförderung: Anträge bis 31. März",
        "Vereine und freie Gruppen können bis Ende März Förderung für Projekte im kommenden Jahr beantragen.",
        ["Förderung"],
    ),
    (
        "verkehr",
        "news",
        "Vollsperrung der Lindenallee ab Montag",
        "Wegen Kanalarbeiten ist die Lindenallee zwischen Bahnhof und Marktplatz drei Wochen gesperrt. Umleitungen sind ausgeschildert.",
        ["Baustelle", "Sperrung"],
    ),
    (
        "verkehr",
        "news",
        "Neuer Radweg an der Hafenstraße eröffnet",
        "Der geschützte Radweg an der Hafenstraße ist fertig. Er verbindet die Innenstadt mit dem Gewerbegebiet.",
        ["Radverkehr"],
    ),
    (
        "verkehr",
        "news",
        "Buslinie 7 fährt künftig im Zehn-Minuten-Takt",
        "Ab dem Fahrplanwechsel fährt die Linie 7 werktags tagsüber alle zehn Minuten.",
        ["Nahverkehr"],
    ),
    (
        "verkehr",
        "news",
        "Winterdienst: Räumpflicht für Gehwege",
        "Anliegerinnen und Anlieger müssen Gehwege werktags ab 7 Uhr räumen und streuen. Was Sie wissen müssen.",
        ["Winterdienst"],
    ),
    (
        "verkehr",
        "news",
        "Parkhaus am Bahnhof wird saniert",
        "Das Parkhaus am Bahnhof wird ab Februar abschnittsweise saniert; rund die Hälfte der Plätze bleibt nutzbar.",
        ["Baustelle", "Parken"],
    ),
    (
        "presse",
        "press",
        "Pressemitteilung: Musterstadt erhält Förderung für Schulsanierung",
        "Das Land fördert die Sanierung von drei Grundschulen mit insgesamt 4,2 Millionen Euro.",
        ["Schulen", "Förderung"],
    ),
    (
        "presse",
        "press",
        "Pressemitteilung: Neue Kita in der Weststadt eröffnet",
        "Die städtische Kita „Sonnenblume“ bietet 90 Plätze für Kinder von einem bis sechs Jahren.",
        ["Kita", "Familie"],
    ),
    (
        "presse",
        "press",
        "Pressemitteilung: Hochwasserschutz am Mühlbach fertiggestellt",
        "Nach zwei Jahren Bauzeit schützt der neue Deich rund 800 Haushalte vor Hochwasser.",
        ["Hochwasserschutz", "Klimaschutz"],
    ),
    (
        "presse",
        "press",
        "Pressemitteilung: Musterstadt tritt Klimabündnis bei",
        "Der Stadtrat hat den Beitritt zum Klimabündnis europäischer Städte beschlossen.",
        ["Klimaschutz", "Stadtrat"],
    ),
]

PARAGRAPHS = [
    "Die Stadtverwaltung informiert regelmäßig über Neuigkeiten und Vorhaben. "
    "Alle Informationen finden Sie auch in den Kanälen der Stadt Musterstadt.",
    "Bei Fragen hilft Ihnen das Bürgertelefon montags bis freitags von 8 bis 18 Uhr "
    "unter der Rufnummer 0123 456-0 weiter.",
    "Weitere Einzelheiten und alle Unterlagen stellt die Stadt auf den jeweiligen "
    "Fachseiten bereit. Anregungen nimmt das zuständige Amt gern entgegen.",
]

STANDARD_PAGES = [
    {
        "slug": "impressum",
        "title": "Impressum",
        "setting": "imprint_page",
        "body": (
            "<h2>Herausgeberin</h2><p>Stadt Musterstadt<br>vertreten durch die Oberbürgermeisterin Petra Lindner<br>"
            "Rathausplatz 1<br>12345 Musterstadt</p>"
            "<h2>Kontakt</h2><p>Telefon: 0123 456-0<br>E-Mail: presse@musterstadt.example</p>"
            "<h2>Verantwortlich für den Inhalt</h2><p>Verantwortlich im Sinne des § 18 Abs. 2 MStV sind die bei den "
            "einzelnen Themenbereichen genannten Personen; für die Startseite Dr. Helga Sommer, "
            "Leiterin des Presse- und Informationsamts.</p>"
            "<h2>Umsatzsteuer-Identifikationsnummer</h2><p>DE 000 000 000</p>"
        ),
    },
    {
        "slug": "datenschutz",
        "title": "Datenschutzerklärung",
        "setting": "privacy_page",
        "body": (
            "<h2>Verantwortliche Stelle</h2><p>Stadt Musterstadt, Rathausplatz 1, 12345 Musterstadt.</p>"
            "<h2>Keine Verfolgung, keine Drittanbieter</h2><p>Dieses Portal setzt keine Analyse- oder "
            "Werbewerkzeuge ein und lädt keine Inhalte von anderen Servern. Schriften, Bilder und Skripte "
            "kommen ausschließlich von diesem Server.</p>"
            "<h2>Server-Protokolle</h2><p>Beim Aufruf einer Seite verarbeitet der Server technisch notwendige "
            "Daten (IP-Adresse, Zeitpunkt, aufgerufene Adresse). Sie werden nach sieben Tagen gelöscht.</p>"
            "<h2>Ihre Rechte</h2><p>Sie haben das Recht auf Auskunft, Berichtigung, Löschung und Einschränkung "
            "der Verarbeitung sowie ein Beschwerderecht bei der Aufsichtsbehörde. Die behördliche "
            "Datenschutzbeauftragte erreichen Sie unter datenschutz@musterstadt.example.</p>"
        ),
    },
    {
        "slug": "barrierefreiheit",
        "title": "Erklärung zur Barrierefreiheit",
        "setting": "accessibility_page",
        "body": (
            "<p>Die Stadt Musterstadt ist bemüht, ihr Portal im Einklang mit der Barrierefreie-Informationstechnik-"
            "Verordnung (BITV 2.0) barrierefrei zugänglich zu machen.</p>"
            "<h2>Stand der Vereinbarkeit mit den Anforderungen</h2><p>Dieses Portal ist mit den Anforderungen "
            "der WCAG 2.1 auf Stufe AA vereinbar. Jede Änderung wird automatisiert mit axe-core geprüft.</p>"
            "<h2>Feedback und Kontakt</h2><p>Sind Ihnen Mängel beim barrierefreien Zugang aufgefallen? Schreiben "
            "Sie uns an barrierefreiheit@musterstadt.example oder rufen Sie an: 0123 456-0.</p>"
            "<h2>Schlichtungsverfahren</h2><p>Wenn auch nach Ihrem Feedback keine zufriedenstellende Lösung "
            "gefunden wurde, können Sie sich an die Schlichtungsstelle nach § 16 BGG wenden.</p>"
            "<p>Diese Erklärung wurde am 27. November 2026 erstellt.</p>"
        ),
    },
]

# The city's accounts, on the local stand-ins that `make run` serves (Procfile.dev).
# (network, name, base URL)
CHANNEL_ACCOUNTS = [
    ("mastodon", "Stadt Musterstadt", "http://127.0.0.1:8602"),
    ("x", "Stadt Musterstadt", "http://127.0.0.1:8601"),
    ("facebook", "Stadt Musterstadt", "http://127.0.0.1:8604"),
    ("flickr", "Stadt Musterstadt", "http://127.0.0.1:8606"),
    ("youtube", "Stadt Musterstadt", "http://127.0.0.1:8607"),
    ("bluesky", "Stadt Musterstadt", "http://127.0.0.1:8605"),
]

# The city's mail lists, sent through the mail stand-in (`make run` keeps its
# messages in var/mailbox/), each routed to its section or, without it, to all.
MAIL_LIST_ADDRESS = "smtp://127.0.0.1:8625"
MAIL_LISTS = [
    {
        "network": "press",
        "name": "Presseverteiler Musterstadt",
        "section": "presse",
        "recipients": [
            "lokalredaktion@presse.example",
            "nachrichten@presse.example",
            "pressestelle@musterstadt.example",
        ],
    },
    {
        "network": "maillist",
        "name": "Verteiler Stadtrat",
        "section": "rathaus",
        "recipients": ["ratsbuero@musterstadt.example", "fraktionen@musterstadt.example"],
    },
]
# The press mail carries the whole release; the text beside it is the press office's cover note.
PRESS_COVER_NOTE = "Sehr geehrte Damen und Herren, anbei unsere Mitteilung mit der Bitte um Veröffentlichung."

# Written and submitted by Kultur's editor, with a text for each of the city's
# accounts; waits for the Freigabe group, whose release sends them out.
ARTICLE_IN_REVIEW = {
    "slug": "adventsmarkt",
    "title": "Adventsmarkt öffnet am Freitag",
    "teaser": "Rund 60 Stände, ein Kinderkarussell und täglich Musik: Der Adventsmarkt auf dem Marktplatz öffnet am Freitag um 16 Uhr.",
    "tags": ["Veranstaltung", "Advent"],
}

# The article in review shows a gallery and a video (drawn for the demo, 8 s, silent).
GALLERY_CAPTIONS = [
    "Der Marktplatz mit den ersten Ständen",
    "Das Kinderkarussell vor dem Rathaus",
    "Lichterketten in der Altstadt",
]
DEMO_VIDEO = {
    "file": "stadtrundgang.webm",
    "title": "Video: Stadtrundgang durch Musterstadt",
    "captions": "stadtrundgang.vtt",
    "captions_title": "Untertitel: Stadtrundgang durch Musterstadt",
    "transcript": (
        "Ein kurzer Film ohne Ton: Die Häuser der Altstadt ziehen vorbei, die Sonne geht auf. "
        "Eingeblendet ist der Schriftzug „Musterstadt – Stadtrundgang“."
    ),
}

# Groups other than the per-section editors, with their one demo user each.
# (group name, username, first name, last name)
ROLE_GROUPS = [
    ("Freigabe", "freigabe", "Frieda", "Freigabe"),
    ("Moderation", "moderation", "Moritz", "Moderation"),
    ("Chefredaktion", "chefredaktion", "Helga", "Sommer"),
    ("Administration", "admin", "Ada", "Admin"),
]

DEMO_PASSWORD = "musterstadt"  # noqa: S105 -- printed for the local demo only
