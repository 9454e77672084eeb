"""Word lists for the duplicate generator (made up for crmcore; common names only)."""

from __future__ import annotations

__all__ = [
    "CITIES",
    "DOMAINS",
    "FEMALE",
    "HANGUL_GIVEN_SYLLABLES",
    "HANGUL_SURNAMES",
    "HANGUL_SURNAME_LATIN",
    "HANGUL_SURNAME_WEIGHTS",
    "MALE",
    "PHONE_PLANS",
    "SURNAMES",
]

FEMALE = (
    "Ann", "Anna", "Amelia", "Beatrice", "Carla", "Chloé", "Clara", "Daniela", "Elena",
    "Elizabeth", "Emma", "Eva", "Fatima", "Grace", "Hannah", "Inès", "Isabel", "Jennifer",
    "Julia", "Katherine", "Laura", "Léa", "Lucía", "Margaret", "Maria", "Marta", "Mia",
    "Nadia", "Olivia", "Patricia", "Paula", "Rebecca", "Rosa", "Sarah", "Sofia", "Susan",
    "Victoria", "Yasmin", "Zoë", "Abigail", "Amanda", "Deborah", "Cynthia", "Birgit",
    "Ingrid", "Sigrid", "Agnieszka", "Małgorzata", "Renée", "Noémie",
)  # fmt: skip
MALE = (
    "Adam", "Alexander", "Andrew", "Anthony", "Benjamin", "Carlos", "Charles", "Christopher",
    "Daniel", "David", "Edward", "François", "Frederick", "George", "Gregory", "Henry",
    "Hugo", "James", "Jeffrey", "John", "José", "Joseph", "Jürgen", "Kenneth", "Lawrence",
    "Lucas", "Luis", "Marco", "Matthew", "Michael", "Nicholas", "Noah", "Oliver", "Omar",
    "Pablo", "Peter", "Richard", "Robert", "Ronald", "Samuel", "Stephen", "Søren", "Thomas",
    "Timothy", "William", "Łukasz", "Mehmet", "Ahmed", "Björn", "Joël",
)  # fmt: skip
SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer",
    "Wagner", "Becker", "Schulz", "Hoffmann", "Martin", "Bernard", "Dubois", "Thomas",
    "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "García", "Fernández",
    "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker",
    "Visser", "Smit", "Meijer", "de Boer", "Nowak", "Kowalski", "Wiśniewski", "Wójcik",
    "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Andersen", "Nielsen", "Hansen",
    "Pedersen", "Larsen", "Sørensen", "Jensen", "Christensen", "Yılmaz", "Kaya", "Demir",
    "Şahin", "Çelik", "O'Brien", "O'Connor", "Murphy", "Kelly", "Walsh", "Byrne", "Ryan",
    "McCarthy", "Doyle", "Novák", "Dvořák", "Svoboda", "Novotný", "Černý", "Procházka",
    "Kučera", "Veselý", "Horák", "Silva", "Santos", "Ferreira", "Pereira", "Oliveira",
    "Costa", "Rodrigues", "Almeida", "Nascimento", "Lima", "Araújo", "Nguyen", "Tran",
)  # fmt: skip
HANGUL_SURNAMES = (
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권",
    "황", "안", "송", "류", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "남", "심",
    "노", "하", "곽", "성", "차", "주", "우", "구", "남궁", "제갈", "선우", "황보",
)  # fmt: skip
HANGUL_SURNAME_WEIGHTS = (
    21.5, 14.7, 8.4, 4.7, 4.3, 2.4, 2.1, 2.1, 2.0, 2.0, 1.5, 1.5, 1.5, 1.5, 1.4,
    1.4, 1.3, 1.3, 1.2, 1.1, 1.1, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.7, 0.6, 0.6,
    0.5, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.05, 0.03, 0.03, 0.02,
)  # fmt: skip
HANGUL_SURNAME_LATIN = (
    "kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim", "han", "oh",
    "seo", "shin", "kwon", "hwang", "ahn", "song", "ryu", "jeon", "hong", "ko", "moon",
    "yang", "son", "bae", "baek", "heo", "nam", "shim", "noh", "ha", "kwak", "sung", "cha",
    "joo", "woo", "koo", "namgung", "jegal", "sunwoo", "hwangbo",
)  # fmt: skip
HANGUL_GIVEN_SYLLABLES = (
    "민", "서", "지", "하", "준", "도", "윤", "현", "우", "예", "수", "은", "유", "연", "진",
    "영", "호", "성", "재", "빈", "아", "원", "희", "정", "훈", "혁", "채", "다", "소", "나",
    "태", "경", "주", "혜", "승", "세", "인", "상", "동", "미",
)  # fmt: skip
DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de",
    "web.de", "orange.fr", "free.fr", "naver.com", "daum.net", "example.org",
)  # fmt: skip
#: country -> (calling code, national trunk prefix written before the number,
#: first digits of a mobile number, number of further random digits)
PHONE_PLANS = {
    "GB": ("44", "0", "7", 9),
    "DE": ("49", "0", "15", 9),
    "FR": ("33", "0", "6", 8),
    "US": ("1", "", "", 10),
    "KR": ("82", "0", "10", 8),
}
CITIES = {
    "GB": ("London", "Leeds", "Bristol", "Glasgow", "Cardiff"),
    "DE": ("Berlin", "Hamburg", "München", "Köln", "Leipzig"),
    "FR": ("Paris", "Lyon", "Marseille", "Lille", "Nantes"),
    "US": ("Boston", "Chicago", "Denver", "Austin", "Seattle"),
    "KR": ("서울", "부산", "인천", "대구", "대전"),
}
